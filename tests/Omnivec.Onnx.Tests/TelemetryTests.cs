using System.Diagnostics;
using Microsoft.Extensions.AI;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Omnivec.Tests;

namespace Omnivec.Onnx.Tests;

/// <summary>
/// The library's spans and metrics as an application sees them through OpenTelemetry (the SDK's in-memory exporter):
/// an embedding call is one <c>omnivec.embed</c> span with a child <c>omnivec.model.run</c> per tower run, and the model
/// run time and batch size are recorded.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class TelemetryTests(ModelFixture models)
{
    // A source of the test's own, so the test finds its spans among those of tests running beside it.
    private static readonly ActivitySource TestSource = new("Omnivec.Onnx.Tests.Telemetry");

    [Fact]
    public async Task An_embedding_call_is_a_span_with_its_model_runs_and_the_run_time_is_measured()
    {
        // Loaded first: loading runs probes of its own, which would show in the trace too.
        models.Hf.EnsureVisionLoaded();
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        using (TracerProvider tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(OmnivecTelemetry.ActivitySourceName, TestSource.Name).AddInMemoryExporter(spans).Build())
        using (MeterProvider meters = Sdk.CreateMeterProviderBuilder().AddMeter(OmnivecTelemetry.MeterName).AddInMemoryExporter(metrics).Build())
        {
            ActivityTraceId trace;
            using (Activity root = TestSource.StartActivity("test")!)
            {
                trace = root.TraceId;
                IEmbeddingGenerator<string, Embedding<float>> text = models.Hf;
                // 10 texts over the fixture's batch limit of 8: one call, two model runs.
                GeneratedEmbeddings<Embedding<float>> vectors = await text.GenerateAsync(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
                Assert.Equal(10, vectors.Count);
                IReadOnlyList<EmbeddingOutcome> images = models.Hf.EmbedImageFiles([
                    TestPaths.CorpusFile("images", "photos", "cat_chelsea.png"), TestPaths.CorpusFile("images", "photos", "bananas.jpg")]);
                Assert.All(images, o => Assert.Null(o.Error));
            }

            tracing.ForceFlush();
            meters.ForceFlush();
            List<Activity> mine = spans.Where(s => s.TraceId == trace && s.Source.Name == OmnivecTelemetry.ActivitySourceName).ToList();

            Activity textCall = Assert.Single(mine, s => s.OperationName == "omnivec.embed" && (string?)s.GetTagItem("omnivec.modality") == "text");
            Assert.Equal(10, textCall.GetTagItem("omnivec.input.count"));
            Assert.Equal(models.Hf.Space.ModelId, textCall.GetTagItem("omnivec.model"));
            Assert.Equal(models.Hf.Space.Dimensions, textCall.GetTagItem("omnivec.dimensions"));
            Activity[] textRuns = mine.Where(s => s.OperationName == "omnivec.model.run" && s.ParentSpanId == textCall.SpanId).ToArray();
            Assert.Equal([8, 2], textRuns.OrderBy(s => s.StartTimeUtc).Select(s => (int)s.GetTagItem("omnivec.batch.size")!));
            Assert.All(textRuns, s => Assert.Equal("text", s.GetTagItem("omnivec.tower")));
            Assert.All(textRuns, s => Assert.True(s.Duration > TimeSpan.Zero));

            Activity imageCall = Assert.Single(mine, s => s.OperationName == "omnivec.embed" && (string?)s.GetTagItem("omnivec.modality") == "image");
            Assert.Equal(2, imageCall.GetTagItem("omnivec.input.count"));
            Activity imageRun = Assert.Single(mine, s => s.OperationName == "omnivec.model.run" && s.ParentSpanId == imageCall.SpanId);
            Assert.Equal("vision", imageRun.GetTagItem("omnivec.tower"));
            Assert.Equal(2, imageRun.GetTagItem("omnivec.batch.size"));

            // Metrics (other tests may add to them; ours are at least there).
            Assert.True(HistogramCount(metrics, "omnivec.model.run.duration", "omnivec.tower", "text") >= 2);
            Assert.True(HistogramCount(metrics, "omnivec.model.run.duration", "omnivec.tower", "vision") >= 1);
            Assert.True(HistogramCount(metrics, "omnivec.model.batch.size", "omnivec.tower", "text") >= 2);
            Assert.True(HistogramCount(metrics, "omnivec.image.decode.duration", "omnivec.image.format", "Png") >= 1);
            Assert.True(HistogramCount(metrics, "omnivec.image.decode.duration", "omnivec.image.format", "Jpeg") >= 1);
            Assert.Equal("s", metrics.First(m => m.Name == "omnivec.model.run.duration").Unit);
        }
    }

    private static long HistogramCount(List<Metric> metrics, string name, string tag, string value)
    {
        long count = 0;
        foreach (Metric metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly MetricPoint point in metric.GetMetricPoints())
            {
                foreach (KeyValuePair<string, object?> t in point.Tags)
                {
                    if (t.Key == tag && Equals(t.Value, value))
                    {
                        count += point.GetHistogramCount();
                    }
                }
            }
        }

        return count;
    }
}
