namespace SegmentController.Api;

/// <summary>One line of the API keys file: an operator, their roles and the hash of their key or certificate.</summary>
/// <param name="Name">The operator's name, recorded as the actor of everything they do.</param>
/// <param name="Roles">Their roles (<see cref="ApiRoles"/>).</param>
/// <param name="IsCertificate">True when <paramref name="Sha256"/> is a client certificate's SHA-256 fingerprint (DER).</param>
/// <param name="Sha256">SHA-256 of the API key (UTF-8) or of the certificate.</param>
internal sealed record ApiCredential(string Name, IReadOnlySet<string> Roles, bool IsCertificate, byte[] Sha256);
