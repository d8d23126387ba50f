using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Omnivec.Providers.Tests.Fakes;

/// <summary>A canned failure the fake returns instead of handling the next request.</summary>
/// <param name="Status">HTTP status.</param>
/// <param name="Code">Error code in the body (Google: the status string; Azure: the code).</param>
/// <param name="Message">Error message in the body.</param>
/// <param name="RetryAfter">Retry-After header value (seconds or an HTTP date), or null.</param>
public sealed record FakeFault(int Status, string Code, string Message, string? RetryAfter = null);

/// <summary>
/// Kestrel on 127.0.0.1 with a random port, plus what every fake needs: counters (requests, maximum in flight),
/// an optional delay per request, and queued faults. Subclasses implement the service contract.
/// </summary>
public abstract class FakeServiceBase : IDisposable
{
    private readonly ConcurrentQueue<FakeFault> _faults = new();
    private WebApplication? _app;
    private int _inFlight;
    private int _maxInFlight;
    private int _requestCount;

    /// <summary>Base URL once started, e.g. http://127.0.0.1:43121/ (always with a trailing slash).</summary>
    public Uri? BaseUri { get; private set; }

    /// <summary>Requests received (all paths, including rejected ones).</summary>
    public int RequestCount => Volatile.Read(ref _requestCount);

    /// <summary>Most requests that were being handled at the same time.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Time each request is held before it is answered (to measure concurrency or force timeouts).</summary>
    public TimeSpan ResponseDelay { get; set; }

    /// <summary>Raw bodies of the requests, in arrival order.</summary>
    public ConcurrentQueue<byte[]> RequestBodies { get; } = new();

    /// <summary>Request headers as "Name: value" lines per request (to prove where credentials travel).</summary>
    public ConcurrentQueue<string> RequestHeaders { get; } = new();

    /// <summary>The next request(s) get these failures, in order, before normal handling resumes.</summary>
    public void EnqueueFault(FakeFault fault) => _faults.Enqueue(fault);

    /// <summary>Starts the server and returns its base URL.</summary>
    public string Start()
    {
        if (_app is not null)
        {
            return BaseUri!.AbsoluteUri;
        }

        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Limits.MaxRequestBodySize = 64L * 1024 * 1024;
        });
        _app = builder.Build();
        _app.Run(HandleAsync);
        _app.StartAsync().GetAwaiter().GetResult();
        string address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUri = new Uri(address.EndsWith('/') ? address : address + "/");
        return BaseUri.AbsoluteUri;
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requestCount);
        int now = Interlocked.Increment(ref _inFlight);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }

        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            byte[] body = buffer.ToArray();
            RequestBodies.Enqueue(body);
            RequestHeaders.Enqueue(string.Join("\n", context.Request.Headers.Select(h => $"{h.Key}: {h.Value}")));

            if (ResponseDelay > TimeSpan.Zero)
            {
                await Task.Delay(ResponseDelay, context.RequestAborted);
            }

            if (_faults.TryDequeue(out FakeFault? fault))
            {
                if (fault.RetryAfter is not null)
                {
                    context.Response.Headers.RetryAfter = fault.RetryAfter;
                }

                await WriteErrorAsync(context.Response, fault.Status, fault.Code, fault.Message);
                return;
            }

            await HandleAsync(context, body);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client gave up (timeout or cancellation test); nothing to answer.
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Handles one request whose body has been read.</summary>
    protected abstract Task HandleAsync(HttpContext context, byte[] body);

    /// <summary>Writes the service's documented error body.</summary>
    protected abstract Task WriteErrorAsync(HttpResponse response, int status, string code, string message);

    protected static async Task WriteJsonAsync(HttpResponse response, int status, Action<Utf8JsonWriter> write)
    {
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        await response.Body.WriteAsync(buffer.ToArray());
    }

    /// <summary>True when the object has only the allowed properties; <paramref name="unknown"/> names the first other one.</summary>
    protected static bool OnlyKeys(JsonElement obj, out string? unknown, params string[] allowed)
    {
        foreach (JsonProperty p in obj.EnumerateObject())
        {
            if (!allowed.Contains(p.Name, StringComparer.Ordinal))
            {
                unknown = p.Name;
                return false;
            }
        }

        unknown = null;
        return true;
    }

    /// <summary>
    /// A deterministic, deliberately unnormalised vector derived from <paramref name="seed"/> (SHA-256 blocks),
    /// so tests can predict exactly what the client must return after it normalises.
    /// </summary>
    public static float[] RawVector(string seed, int dimensions)
    {
        var vector = new float[dimensions];
        byte[] seedBytes = Encoding.UTF8.GetBytes(seed);
        Span<byte> block = stackalloc byte[32];
        for (int i = 0, k = 0; i < dimensions; k++)
        {
            SHA256.HashData([.. seedBytes, .. BitConverter.GetBytes(k)], block);
            for (int j = 0; j < 32 && i < dimensions; j += 4, i++)
            {
                // Values in [-2, 2): a norm far from 1, so missing normalisation shows.
                vector[i] = (BitConverter.ToUInt32(block[j..]) / (float)uint.MaxValue * 4f) - 2f;
            }
        }

        return vector;
    }

    /// <summary><see cref="RawVector"/> scaled to unit length: what a client should hand back.</summary>
    public static float[] UnitVector(string seed, int dimensions)
    {
        float[] v = RawVector(seed, dimensions);
        double norm = Math.Sqrt(v.Sum(x => (double)x * x));
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = (float)(v[i] / norm);
        }

        return v;
    }

    protected static string Hash(ReadOnlySpan<byte> data) => Convert.ToHexString(SHA256.HashData(data));

    public void Dispose()
    {
        if (_app is not null)
        {
            _app.StopAsync().GetAwaiter().GetResult();
            ((IDisposable)_app).Dispose();
            _app = null;
        }

        GC.SuppressFinalize(this);
    }
}
