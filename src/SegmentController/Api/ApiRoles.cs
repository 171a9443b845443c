namespace SegmentController.Api;

/// <summary>The operator API's roles and the authorization policies built on them.</summary>
internal static class ApiRoles
{
    /// <summary>Reads status, findings, incidents.</summary>
    public const string Viewer = "viewer";

    /// <summary>Suspends clients and asks for restores.</summary>
    public const string Operator = "operator";

    /// <summary>Approves a restore someone else asked for.</summary>
    public const string Approver = "approver";

    /// <summary>Verifies and exports the evidence log.</summary>
    public const string Auditor = "auditor";

    /// <summary>Everything.</summary>
    public const string Admin = "admin";

    /// <summary>Every role a keys file may name.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Viewer, Operator, Approver, Auditor, Admin };

    /// <summary>Authorization policy: any authenticated role (every role may read).</summary>
    public const string CanView = "segctl-view";

    /// <summary>Authorization policy: suspend.</summary>
    public const string CanSuspend = "segctl-suspend";

    /// <summary>Authorization policy: ask for a restore (operators and approvers).</summary>
    public const string CanRequestRestore = "segctl-request-restore";

    /// <summary>Authorization policy: approve a restore.</summary>
    public const string CanApprove = "segctl-approve";

    /// <summary>Authorization policy: add notes to incidents (everyone but viewers).</summary>
    public const string CanAnnotate = "segctl-annotate";

    /// <summary>Authorization policy: verify and export the log.</summary>
    public const string CanAudit = "segctl-audit";
}
