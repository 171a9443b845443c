using System.Security.Cryptography;
using System.Text;
using SegmentController.Core.Policy.Loading;
using SegmentController.Core.Policy.Validation;

namespace SegmentController.Core.Policy;

/// <summary>
/// Reads a site policy from YAML and validates it. Bad input never throws: the result carries every
/// error at the position of the node it concerns (<c>file:line:col: message</c>).
/// </summary>
public static class PolicyLoader
{
    /// <summary>Policy files larger than this are refused unread (a policy is a few kilobytes).</summary>
    public const int MaxFileBytes = 4 * 1024 * 1024;

    /// <summary>Reads and validates the policy file at <paramref name="path"/>.</summary>
    public static PolicyLoadResult LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            // Read at most one byte past the cap so a growing or enormous file is never read whole.
            var buffer = new byte[MaxFileBytes + 1];
            var total = 0;
            int read;
            while (total < buffer.Length && (read = stream.Read(buffer, total, buffer.Length - total)) > 0)
            {
                total += read;
            }

            if (total > MaxFileBytes)
            {
                return Invalid(path, $"the policy file is larger than {MaxFileBytes / (1024 * 1024)} MiB; a site policy is a few kilobytes");
            }

            bytes = buffer.AsSpan(0, total).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException or System.Security.SecurityException)
        {
            return new PolicyLoadResult
            {
                Unreadable = true,
                Errors = [new PolicyError { File = path, Message = $"cannot read the policy file: {Describe(e, path)}" }],
            };
        }

        return Load(bytes, path);
    }

    /// <summary>Validates policy text already in memory; <paramref name="sourcePath"/> names it in errors.</summary>
    public static PolicyLoadResult Load(ReadOnlySpan<byte> bytes, string sourcePath)
    {
        ArgumentNullException.ThrowIfNull(sourcePath);
        if (bytes.Length > MaxFileBytes)
        {
            return Invalid(sourcePath, $"the policy file is larger than {MaxFileBytes / (1024 * 1024)} MiB; a site policy is a few kilobytes");
        }

        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Invalid(sourcePath, "the policy file is not UTF-8 text");
        }

        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        var diagnostics = new PolicyDiagnostics();
        var root = YamlDocumentReader.Read(text, diagnostics);
        SitePolicy? policy = null;
        if (root is not null)
        {
            var reader = new PolicyReader(diagnostics);
            policy = reader.Read(root);
            if (policy is not null)
            {
                PolicyValidator.Validate(reader.Facts, diagnostics);
            }
        }

        if (diagnostics.HasErrors || policy is null)
        {
            return new PolicyLoadResult { Errors = diagnostics.ToErrors(sourcePath) };
        }

        return new PolicyLoadResult
        {
            Policy = policy with
            {
                SourcePath = sourcePath,
                Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)),
            },
        };
    }

    private static PolicyLoadResult Invalid(string path, string message) =>
        new() { Errors = [new PolicyError { File = path, Message = message }] };

    private static string Describe(Exception e, string path) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException when Directory.Exists(path) => "it is a directory",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };
}
