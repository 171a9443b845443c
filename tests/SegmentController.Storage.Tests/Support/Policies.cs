using SegmentController.Core.Policy;

namespace SegmentController.Storage.Tests.Support;

public static class Policies
{
    public static SitePolicy Site(params ClientDefinition[] clients) => new()
    {
        Site = new SiteInfo { Id = "test-site", Name = "Test site" },
        Controller = new ControllerSettings(),
        Infrastructure = new InfrastructureSettings(),
        Switches = [],
        Clients = clients,
        Sha256 = "ab12",
    };

    public static ClientDefinition Client(string id, params Contact[] contacts) => new()
    {
        Id = id,
        Name = id,
        ContractEnd = new DateOnly(2030, 12, 31),
        Segments = [],
        Notify = contacts,
    };
}
