using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Omnivec.Cli.Tests;

/// <summary>
/// <c>omnivec serve</c> with <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set exports over OTLP (HTTP/protobuf here): a collector
/// of the test's own receives the spans of an embeddings request (the request, <c>omnivec.embed</c>,
/// <c>omnivec.model.run</c>) and the model's metrics, under the configured service name.
/// </summary>
public sealed class OtlpExportTests : IDisposable
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);
    private readonly string _store = Directory.CreateTempSubdirectory("omnivec-otlp-").FullName;

    public void Dispose() => Directory.Delete(_store, recursive: true);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Traces_and_metrics_reach_an_OTLP_collector()
    {
        var received = new ConcurrentQueue<(string Path, byte[] Body)>();
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using WebApplication collector = builder.Build();
        collector.Run(async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            received.Enqueue((context.Request.Path.Value ?? "", buffer.ToArray()));
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/x-protobuf"; // an empty Export*ServiceResponse
        });
        await collector.StartAsync();
        string collectorUrl = collector.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');

        string url = $"http://127.0.0.1:{FreePort()}";
        ProcessStartInfo info = CliRunner.StartInfo(["serve", "--model", CliRunner.ModelHf, "--store", _store, "--urls", url], new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collectorUrl,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "omnivec-otlp-test",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        });
        using var server = Process.Start(info)!;
        server.StandardInput.Close();
        Task<string> stderr = server.StandardError.ReadToEndAsync();
        Task<string> stdout = server.StandardOutput.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = HangGuard };
            await CliRunner.WaitUntilReadyAsync(server, http, stderr, HangGuard);

            HttpResponseMessage embedded = await http.PostAsync("/v1/embeddings", new StringContent("""{"input":["a dog","a cat"]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, embedded.StatusCode);

            // OTLP protobuf carries names and string values as UTF-8 bytes: look for them in what arrived.
            // (Spans end at different times, so they may come in different exports: each text in any of them.)
            bool Has(string path, params string[] texts) => texts.All(t => received.Any(r => r.Path == path
                && Encoding.UTF8.GetString(r.Body).Contains(t, StringComparison.Ordinal)));
            var guard = Stopwatch.StartNew();
            // The request's own span (ASP.NET Core, with its route) comes along with Omnivec's.
            while (!(Has("/v1/traces", "omnivec.embed", "omnivec.model.run", "omnivec-otlp-test", "/v1/embeddings")
                && Has("/v1/metrics", "omnivec.model.run.duration", "omnivec-otlp-test")))
            {
                Assert.True(guard.Elapsed < HangGuard,
                    $"the collector did not receive the spans and metrics; it got: {string.Join(", ", received.Select(r => r.Path))}");
                await Task.Delay(100);
            }

            // The readiness probes made no spans.
            Assert.False(Has("/v1/traces", "/health/ready"));
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }

            await server.WaitForExitAsync();
        }
    }
}
