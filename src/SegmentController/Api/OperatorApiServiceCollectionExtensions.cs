using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy;

namespace SegmentController.Api;

/// <summary>Registers the operator API: authentication, roles, the action recorder and what it stands on.</summary>
internal static class OperatorApiServiceCollectionExtensions
{
    /// <summary>
    /// The operator API's services. Needs <c>AddControllerCore</c> and an <see cref="IEvidenceStore"/>
    /// (<c>AddEvidence</c>): without a store nothing that changes state is accepted. Adds the suspension
    /// engine (<c>AddSuspension</c>, idempotent).
    /// </summary>
    public static IServiceCollection AddOperatorApi(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddProblemDetails();
        services.AddSuspension();
        services.TryAddSingleton(sp => new ApiKeyFile(
            sp.GetRequiredService<IPolicyProvider>().Current.Controller.Management.ApiKeysFile,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<ApiKeyFile>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<FailedAuthLimiter>();
        services.TryAddSingleton<RecipeKeyWarnings>();
        services.TryAddSingleton<OperatorActionRecorder>();
        services.TryAddSingleton<TripProgress>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISuspensionObserver, TripProgress>(sp => sp.GetRequiredService<TripProgress>()));
        // The core only: AddAuthentication would also bring data protection and its on-disk key ring,
        // which nothing here uses (no cookies, no tokens of our own).
        services.AddAuthenticationCore(o => o.DefaultScheme = ApiKeyAuthenticationHandler.SchemeName);
        services.AddWebEncoders();
        new AuthenticationBuilder(services)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            // Deny by default: an endpoint mapped without a policy of its own (and any path that maps to
            // nothing) needs an authenticated operator; only what calls AllowAnonymous is open.
            .SetFallbackPolicy(new AuthorizationPolicyBuilder()
                .RequireAuthenticatedUser()
                .RequireRole(ApiRoles.All)
                .Build())
            .AddPolicy(ApiRoles.CanView, p => p.RequireRole(ApiRoles.Viewer, ApiRoles.Operator, ApiRoles.Approver, ApiRoles.Auditor, ApiRoles.Admin))
            .AddPolicy(ApiRoles.CanSuspend, p => p.RequireRole(ApiRoles.Operator, ApiRoles.Admin))
            .AddPolicy(ApiRoles.CanRequestRestore, p => p.RequireRole(ApiRoles.Operator, ApiRoles.Approver, ApiRoles.Admin))
            .AddPolicy(ApiRoles.CanApprove, p => p.RequireRole(ApiRoles.Approver, ApiRoles.Admin))
            .AddPolicy(ApiRoles.CanAnnotate, p => p.RequireRole(ApiRoles.Operator, ApiRoles.Approver, ApiRoles.Auditor, ApiRoles.Admin))
            .AddPolicy(ApiRoles.CanAudit, p => p.RequireRole(ApiRoles.Auditor, ApiRoles.Admin));
        return services;
    }
}
