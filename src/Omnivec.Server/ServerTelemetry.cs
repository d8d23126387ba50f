using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Omnivec.Server;

/// <summary>
/// OpenTelemetry for the server: the libraries' <see cref="OmnivecTelemetry"/> source and meter plus ASP.NET Core's, exported
/// over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (traces, metrics and logs; the standard <c>OTEL_*</c> variables
/// apply) and in Prometheus' format at <c>/metrics</c> when <see cref="OmnivecServerOptions.MetricsEndpoint"/> is on.
/// With neither, nothing is registered and nothing is measured.
/// </summary>
internal static class ServerTelemetry
{
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static bool OtlpConfigured => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(OtlpEndpointVariable));

    public static void Configure(WebApplicationBuilder builder, OmnivecServerOptions options)
    {
        bool otlp = OtlpConfigured;
        if (!otlp && !options.MetricsEndpoint)
        {
            return;
        }

        OpenTelemetryBuilder otel = builder.Services.AddOpenTelemetry();
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME")))
        {
            string? version = typeof(ServerTelemetry).Assembly.GetName().Version?.ToString();
            otel.ConfigureResource(r => r.AddService("omnivec", serviceVersion: version));
        }

        otel.WithMetrics(metrics =>
        {
            metrics.AddMeter(OmnivecTelemetry.MeterName).AddAspNetCoreInstrumentation();
            if (options.MetricsEndpoint)
            {
                // No response cache: every scrape shows the figures of that moment.
                metrics.AddPrometheusExporter(p => p.ScrapeResponseCacheDurationMilliseconds = 0);
            }
        });

        if (otlp)
        {
            otel.WithTracing(tracing => tracing
                .AddSource(OmnivecTelemetry.ActivitySourceName)
                .AddAspNetCoreInstrumentation(a => a.Filter = context => !IsProbe(context.Request.Path)));
            otel.UseOtlpExporter();
        }
    }

    /// <summary>Health probes and scrapes: frequent and uninteresting, so they make no spans.</summary>
    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase);
}
