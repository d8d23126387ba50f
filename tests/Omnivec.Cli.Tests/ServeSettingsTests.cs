using Omnivec.Server;

namespace Omnivec.Cli.Tests;

public sealed class ServeSettingsTests
{
    [Fact]
    public void Set_binds_limits_by_name_and_refuses_unknown_names_and_bad_values()
    {
        var options = new OmnivecServerOptions();
        ServeCommand.ApplySettings(options, ["MaxCollections=500", "collectionidletimeout=00:10:00", "ExposeFilePaths=true", "MaxPixelsPerRequest = 1000"]);
        Assert.Equal(500, options.MaxCollections);
        Assert.Equal(TimeSpan.FromMinutes(10), options.CollectionIdleTimeout);
        Assert.True(options.ExposeFilePaths);
        Assert.Equal(1000, options.MaxPixelsPerRequest);

        Assert.Contains("no setting named", Assert.Throws<InvalidInputException>(() => ServeCommand.ApplySettings(options, ["NoSuchLimit=1"])).Message, StringComparison.Ordinal);
        Assert.Contains("no setting named", Assert.Throws<InvalidInputException>(() => ServeCommand.ApplySettings(options, ["StoreRoot=/x"])).Message, StringComparison.Ordinal);
        Assert.Contains("Name=Value", Assert.Throws<InvalidInputException>(() => ServeCommand.ApplySettings(options, ["MaxCollections"])).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidInputException>(() => ServeCommand.ApplySettings(options, ["MaxCollections=many"]));
    }
}
