using SegmentController.Core.Policy;

namespace SegmentController.Core.Tests.Policy;

public sealed class ShippedPolicyTests
{
    [Theory]
    [InlineData("example-site.yaml")]
    [InlineData("lab.yaml")]
    public void ShippedPolicy_Validates(string name)
    {
        var result = PolicyLoader.LoadFile(PolicyFiles.Shipped(name));

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        Assert.Empty(result.Errors);
        Assert.Equal(64, result.Policy!.Sha256.Length);
    }
}
