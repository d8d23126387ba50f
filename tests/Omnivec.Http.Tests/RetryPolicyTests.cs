using System.Net;
using System.Net.Http.Headers;

namespace Omnivec.Http.Tests;

/// <summary>The one retry policy the Hub and both cloud providers run: what is retried, how long it waits, when it stops.</summary>
public sealed class RetryPolicyTests
{
    private static readonly RetrySettings Fast = new(MaxRetries: 3, BaseDelay: TimeSpan.FromMilliseconds(1), MaxDelay: TimeSpan.FromMilliseconds(50));

    [Theory]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(504, true)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(416, false)]
    public void Retryable_statuses_are_408_429_and_5xx(int status, bool retryable) =>
        Assert.Equal(retryable, RetryPolicy.IsRetryable((HttpStatusCode)status));

    [Fact]
    public async Task Transient_failures_are_retried_until_success_and_each_retry_is_reported()
    {
        var policy = new RetryPolicy(Fast);
        int calls = 0;
        var reported = new List<RetryAttempt>();

        string result = await policy.ExecuteAsync(_ =>
        {
            calls++;
            return calls < 3 ? throw new TransientFailureException("HTTP 503", HttpStatusCode.ServiceUnavailable) : ValueTask.FromResult("ok");
        }, reported.Add);

        Assert.Equal("ok", result);
        Assert.Equal(3, calls);
        Assert.Equal([1, 2], reported.Select(r => r.Retry));
        Assert.All(reported, r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.Failure.StatusCode));
    }

    [Fact]
    public async Task Other_exceptions_are_not_retried()
    {
        var policy = new RetryPolicy(Fast);
        int calls = 0;

        await Assert.ThrowsAsync<InvalidDataException>(() => policy.ExecuteAsync<int>(_ =>
        {
            calls++;
            throw new InvalidDataException("a 400 answer, say");
        }));

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task When_retries_run_out_the_last_transient_failure_is_rethrown()
    {
        var policy = new RetryPolicy(Fast);
        int calls = 0;

        var e = await Assert.ThrowsAsync<TransientFailureException>(() => policy.ExecuteAsync<int>(_ =>
        {
            calls++;
            throw new TransientFailureException("attempt " + calls, HttpStatusCode.BadGateway);
        }));

        Assert.Equal(Fast.MaxRetries + 1, calls);
        Assert.Equal("attempt 4", e.Message);
    }

    [Fact]
    public async Task Zero_retries_means_one_attempt()
    {
        var policy = new RetryPolicy(Fast with { MaxRetries = 0 });
        int calls = 0;

        await Assert.ThrowsAsync<TransientFailureException>(() => policy.ExecuteAsync<int>(_ =>
        {
            calls++;
            throw new TransientFailureException("HTTP 429", HttpStatusCode.TooManyRequests);
        }));

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Retry_After_is_the_wait_instead_of_the_backoff()
    {
        // A backoff step would be at least 5 s; the server's 30 ms wins.
        var policy = new RetryPolicy(new RetrySettings(2, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1)));
        var reported = new List<RetryAttempt>();
        int calls = 0;

        await policy.ExecuteAsync(_ =>
        {
            calls++;
            return calls == 1
                ? throw new TransientFailureException("HTTP 429", HttpStatusCode.TooManyRequests, retryAfter: TimeSpan.FromMilliseconds(30))
                : ValueTask.FromResult(0);
        }, reported.Add);

        Assert.Equal(TimeSpan.FromMilliseconds(30), Assert.Single(reported).Delay);
    }

    [Fact]
    public void Retry_After_is_capped_by_the_longest_wait_and_never_negative()
    {
        var policy = new RetryPolicy(new RetrySettings(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)));
        Assert.Equal(TimeSpan.FromSeconds(2), policy.DelayFor(0, TimeSpan.FromSeconds(2)));
        Assert.Equal(TimeSpan.FromSeconds(10), policy.DelayFor(0, TimeSpan.FromHours(1)));
        Assert.Equal(TimeSpan.Zero, policy.DelayFor(0, TimeSpan.FromSeconds(-5)));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.999999)]
    public void Backoff_doubles_with_jitter_bounded_to_half_to_all_of_the_step(double random)
    {
        var policy = new RetryPolicy(new RetrySettings(10, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)), random: () => random);
        double[] steps = [1, 2, 4, 8, 10, 10]; // seconds, capped at MaxDelay
        for (int retry = 0; retry < steps.Length; retry++)
        {
            double seconds = policy.DelayFor(retry, null).TotalSeconds;
            Assert.InRange(seconds, steps[retry] / 2, steps[retry]);
            Assert.Equal(steps[retry] * (0.5 + (random * 0.5)), seconds, 6);
        }
    }

    [Fact]
    public void Jitter_spreads_waits_within_the_bounds()
    {
        var policy = new RetryPolicy(new RetrySettings(5, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1)));
        double[] waits = Enumerable.Range(0, 200).Select(_ => policy.DelayFor(2, null).TotalMilliseconds).ToArray();
        Assert.All(waits, w => Assert.InRange(w, 200, 400));
        Assert.True(waits.Distinct().Count() > 1, "jitter never varied");
    }

    [Fact]
    public async Task Cancellation_during_a_wait_ends_it()
    {
        var policy = new RetryPolicy(new RetrySettings(3, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10)));
        using var cts = new CancellationTokenSource();

        Task run = policy.ExecuteAsync<int>(_ => throw new TransientFailureException("HTTP 503", HttpStatusCode.ServiceUnavailable),
            _ => cts.Cancel(), cts.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public void Retry_After_is_read_as_seconds_or_as_an_HTTP_date()
    {
        var now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(7), RetryPolicy.ReadRetryAfter(RetryConditionHeaderValue.Parse("7"), now));
        Assert.Equal(TimeSpan.FromSeconds(30), RetryPolicy.ReadRetryAfter(RetryConditionHeaderValue.Parse(now.AddSeconds(30).ToString("R")), now));
        Assert.Equal(TimeSpan.Zero, RetryPolicy.ReadRetryAfter(RetryConditionHeaderValue.Parse(now.AddSeconds(-30).ToString("R")), now));
        Assert.Null(RetryPolicy.ReadRetryAfter((RetryConditionHeaderValue?)null, now));

        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation("Retry-After", "3");
        Assert.Equal(TimeSpan.FromSeconds(3), RetryPolicy.ReadRetryAfter(response));
    }
}
