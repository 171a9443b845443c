using System.Text;
using Microsoft.AspNetCore.Http;
using SegmentController.Api;

namespace SegmentController.Tests.Api;

public sealed class ApiRequestsTests
{
    private static HttpRequest Post(string json)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(json));
        return context.Request;
    }

    [Fact]
    public async Task Incident_ClientsWhoseIdsTogetherOverflowOneRecordKey_RefusedBeforeAnythingIsRecorded()
    {
        // Twenty ids of 63 characters: within the 64 clients an incident may name, over the store's 1,024-character key.
        var ids = Enumerable.Range(0, 20).Select(i => $"c{i:D2}" + new string('x', 60)).ToArray();
        var json = $"{{\"nature\":\"confidentiality\",\"clients\":[{string.Join(",", ids.Select(i => $"\"{i}\""))}]}}";

        var (_, clients, _, problem) = await ApiRequests.ReadIncidentAsync(Post(json), CancellationToken.None);

        Assert.Null(clients);
        var result = Assert.IsAssignableFrom<IStatusCodeHttpResult>(problem);
        Assert.Equal(StatusCodes.Status400BadRequest, result.StatusCode);

        // Sixteen of them fit (1,023 characters).
        var fits = $"{{\"nature\":\"confidentiality\",\"clients\":[{string.Join(",", ids.Take(16).Select(i => $"\"{i}\""))}]}}";
        var (_, fewer, _, none) = await ApiRequests.ReadIncidentAsync(Post(fits), CancellationToken.None);
        Assert.Null(none);
        Assert.Equal(16, fewer!.Count);
    }
}
