using Microsoft.AspNetCore.Http;
using ModelMeter.AspNetCore.Hosting;

namespace ModelMeter.AspNetCore.Tests.Hosting;

public sealed class MetricsEndpointTests
{
    [Theory]
    // What Prometheus 2.x sends: OpenMetrics first.
    [InlineData("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", true)]
    [InlineData("application/openmetrics-text", true)]
    [InlineData("application/openmetrics-text; version=1.0.0; charset=utf-8, text/plain; q=0.5", true)]
    [InlineData("text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5", false)] // text preferred
    [InlineData("application/openmetrics-text;version=0.0.1", false)] // a version this exporter does not write
    [InlineData("application/openmetrics-text;q=0", false)]
    [InlineData("text/plain", false)]
    [InlineData("*/*", false)]
    [InlineData("", false)] // curl, a browser, the tests' own scrapes
    [InlineData("not a media type;;;", false)]
    public void PrefersOpenMetrics_AsTheAcceptHeaderRanksIt(string accept, bool expected)
    {
        var http = new DefaultHttpContext();
        if (accept.Length > 0)
        {
            http.Request.Headers.Accept = accept;
        }

        Assert.Equal(expected, MetricsEndpoint.PrefersOpenMetrics(http.Request));
    }
}
