using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SegmentController.Core.Policy;

/// <summary>
/// A certificate subject pattern written as a distinguished name (<c>O=Alpha Insurance, OU=Agents</c>,
/// most specific or least specific first, as the writer likes). A certificate matches when its subject
/// holds every attribute of the pattern with the same value (compared without regard to case, as X.500
/// compares names); attributes the pattern does not name may be anything.
/// </summary>
public sealed class SubjectPattern : IEquatable<SubjectPattern>
{
    private readonly (string Oid, string Value)[] _attributes;

    private SubjectPattern(string text, (string Oid, string Value)[] attributes)
    {
        Text = text;
        _attributes = attributes;
    }

    /// <summary>The pattern in the order written, spaced as .NET formats a distinguished name (<c>O=Alpha Insurance, OU=Agents</c>).</summary>
    public string Text { get; }

    /// <summary>The attributes, by OID, with their values.</summary>
    public IReadOnlyList<(string Oid, string Value)> Attributes => _attributes;

    /// <summary>Parses a pattern; on failure says why.</summary>
    public static bool TryParse(string text, out SubjectPattern? pattern, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        pattern = null;
        error = null;
        X500DistinguishedName name;
        try
        {
            name = new X500DistinguishedName(text);
        }
        catch (CryptographicException)
        {
            error = "is not a distinguished name; write attributes as NAME=value separated by commas, e.g. O=Alpha Insurance, OU=Agents";
            return false;
        }

        var attributes = new List<(string Oid, string Value)>();
        foreach (var rdn in name.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.HasMultipleElements)
            {
                error = "has a multi-valued attribute (joined with '+'); list each attribute on its own, separated by commas";
                return false;
            }

            var value = rdn.GetSingleElementValue()?.Trim();
            if (string.IsNullOrEmpty(value))
            {
                error = "has an attribute without a value";
                return false;
            }

            var attribute = (rdn.GetSingleElementType().Value ?? "", value);
            if (!attributes.Any(a => Same(a, attribute)))
            {
                attributes.Add(attribute);
            }
        }

        if (attributes.Count == 0)
        {
            error = "names no attribute; write e.g. O=Alpha Insurance, OU=Agents";
            return false;
        }

        pattern = new SubjectPattern(name.Name, [.. attributes]);
        return true;
    }

    /// <summary>True when the subject holds every attribute of the pattern.</summary>
    public bool Matches(X500DistinguishedName subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        var present = new List<(string Oid, string Value)>();
        foreach (var rdn in subject.EnumerateRelativeDistinguishedNames())
        {
            // Multi-valued RDNs never satisfy a pattern: they are rare and easy to misread.
            if (!rdn.HasMultipleElements && rdn.GetSingleElementValue() is { } value)
            {
                present.Add((rdn.GetSingleElementType().Value ?? "", value.Trim()));
            }
        }

        return _attributes.All(a => present.Any(p => Same(a, p)));
    }

    /// <summary>
    /// True when every certificate this pattern matches is matched by <paramref name="other"/> too: the
    /// other names a subset of this one's attributes.
    /// </summary>
    public bool IsNarrowerOrEqual(SubjectPattern other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return other._attributes.All(a => _attributes.Any(b => Same(a, b)));
    }

    /// <summary>
    /// True unless the two patterns name a common attribute with different values — the one way two
    /// patterns keep ordinary certificates (one value per attribute) apart.
    /// </summary>
    public bool CanMatchSameCertificate(SubjectPattern other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var oid in _attributes.Select(a => a.Oid).Distinct(StringComparer.Ordinal))
        {
            var mine = _attributes.Where(a => a.Oid == oid).ToArray();
            var theirs = other._attributes.Where(a => a.Oid == oid).ToArray();
            if (theirs.Length > 0 && !mine.Any(m => theirs.Any(t => Same(m, t))))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    public bool Equals(SubjectPattern? other) =>
        other is not null && IsNarrowerOrEqual(other) && other.IsNarrowerOrEqual(this);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as SubjectPattern);

    /// <inheritdoc />
    public override int GetHashCode() => _attributes.Length;

    /// <inheritdoc />
    public override string ToString() => Text;

    private static bool Same((string Oid, string Value) a, (string Oid, string Value) b) =>
        string.Equals(a.Oid, b.Oid, StringComparison.Ordinal) && string.Equals(a.Value, b.Value, StringComparison.OrdinalIgnoreCase);
}
