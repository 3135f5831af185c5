using ModelMeter.Server.Hosting;

namespace ModelMeter.Server.Tests.Hosting;

public sealed class ListenAddressesTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8000")]
    [InlineData("http://127.0.0.1:0")] // a free port
    [InlineData("https://localhost:8443")]
    [InlineData("http://[::1]:8000")]
    [InlineData("http://*:8080")]
    [InlineData("http://+:8080")]
    [InlineData("http://localhost")] // port 80
    [InlineData("http://unix:/run/modelmeter.sock")]
    public void KestrelCanListen_NoProblem(string address) => Assert.Null(ListenAddresses.Problem(address));

    [Theory]
    [InlineData("127.0.0.1:8000", "is not an http:// or https:// URL")]
    [InlineData("ftp://127.0.0.1:8000", "is not an http:// or https:// URL")]
    [InlineData("http://127.0.0.1:99999", "has port 99999; a port is 0 to 65535")] // was Kestrel's unhandled exception
    [InlineData("http://127.0.0.1:-1", "has port -1")]
    [InlineData("http://127.0.0.1:abc", "has a port that is not a number")] // Kestrel bound every interface, port 80
    [InlineData("http://[::1]:80x", "has a port that is not a number")]
    public void NotAnAddressToListenOn_NamedWithWhy(string address, string why) =>
        Assert.Equal($"'{address}' {why}", ListenAddresses.Problem(address)?[..(address.Length + why.Length + 3)]);
}
