namespace SegmentController.Core.Policy;

/// <summary>A policy provider backed by a file that can be read again.</summary>
public interface IReloadablePolicyProvider : IPolicyProvider
{
    /// <summary>
    /// Reads the policy file again. When it validates it is put in force and the result is empty;
    /// otherwise every error (<c>file:line:col: message</c>) is returned and the policy in force stays.
    /// </summary>
    IReadOnlyList<string> Reload();
}
