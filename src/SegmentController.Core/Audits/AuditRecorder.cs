namespace SegmentController.Core.Audits;

/// <summary>
/// Who recorded an audit through the operator API, as the controller authenticated them: the name of
/// the credential in the API keys file and how it was presented (<c>api-key</c>, <c>client-certificate</c>).
/// </summary>
public sealed record AuditRecorder(string Name, string Auth);
