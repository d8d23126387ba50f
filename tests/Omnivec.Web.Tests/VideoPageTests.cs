using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Omnivec.Index;
using Omnivec.Indexing;
using Omnivec.Tests;
using static Microsoft.Playwright.Assertions;

namespace Omnivec.Web.Tests;

/// <summary>A folder with a video indexed into the server's store: the page finds the moment and plays it from its start.</summary>
public sealed partial class SearchPageTests
{
    [Fact]
    public async Task A_found_video_moment_shows_its_time_and_plays_from_its_start()
    {
        double[] cuts = [];
        string folder = Directory.CreateTempSubdirectory("omnivec-web-media-").FullName;
        try
        {
            await FoundMomentPlaysAsync();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        async Task FoundMomentPlaysAsync()
        {
            TestServer server = await fixture.StartServerAsync(async (store, embedder) =>
            {
                File.Copy(Photo("hotdog.jpg"), Path.Combine(folder, "hotdog.jpg"));
                File.Copy(Photo("white_mug.jpg"), Path.Combine(folder, "white_mug.jpg"));
                // VP8 in WebM: every Chromium build plays it.
                cuts = TestVideos.MakeShots(Path.Combine(folder, "shots.webm"), [("two_beagles.jpg", 2.0), ("bananas.jpg", 2.0), ("tomatoes.jpg", 2.0)],
                    codec: TestVideos.CodecFor(".webm"));
                using Collection collection = new CollectionStore(store).OpenOrCreate("default", embedder.Space);
                FolderIndexReport report = await new FolderIndexer(embedder, collection).IndexAsync(folder);
                Assert.Empty(report.Failures);
                Assert.Equal(3, report.Added);
            });

            await WithPageAsync(server, async page =>
            {
                var ranges = new List<(string Range, int Status)>();
                page.Response += (_, response) =>
                {
                    if (response.Url.Contains("/content", StringComparison.Ordinal) && response.Request.Headers.TryGetValue("range", out string? range))
                    {
                        lock (ranges)
                        {
                            ranges.Add((range, response.Status));
                        }
                    }
                };

                await DropFileAsync(page, "drop-zone", Photo("bananas.jpg"), "image/jpeg");
                ILocator videoCard = page.Locator(".card.video").First;
                await Expect(videoCard).ToBeVisibleAsync();
                // The best moment of the video is the bananas shot, and its badge says when it is.
                ILocator badge = videoCard.GetByTestId("time-badge");
                await Expect(badge).ToHaveTextAsync(TimeBadge());
                await WaitForImageAsync(videoCard.Locator("img.thumb"));

                await videoCard.Locator("button.open").ClickAsync();
                ILocator player = page.GetByTestId("moment-player");
                await Expect(player).ToBeVisibleAsync();
                IElementHandle handle = await player.ElementHandleAsync();
                // Playing (not paused, time moving) from the moment's start, inside the bananas shot.
                await page.WaitForFunctionAsync("v => !v.paused && v.currentTime > 0 && v.readyState >= 2", handle);
                double at = await handle.EvaluateAsync<double>("v => v.currentTime");
                Assert.InRange(at, cuts[0] - 0.25, cuts[1] + 0.25);
                await Expect(page.Locator("#drawer-fields")).ToContainTextAsync("Moment");

                lock (ranges)
                {
                    Assert.Contains(ranges, r => r.Status == 206);
                }

                // Closing the drawer stops the player.
                await page.GetByRole(AriaRole.Button, new() { Name = "Close details" }).ClickAsync();
                Assert.True(await handle.EvaluateAsync<bool>("v => v.paused"));
            });
        }
    }

    [Fact]
    public async Task An_uploaded_video_becomes_searchable_and_its_moment_plays()
    {
        string folder = Directory.CreateTempSubdirectory("omnivec-web-upload-").FullName;
        try
        {
            string video = Path.Combine(folder, "picnic.webm");
            double[] cuts = TestVideos.MakeShots(video, [("tomatoes.jpg", 2.0), ("two_beagles.jpg", 2.0), ("bananas.jpg", 2.0)], codec: TestVideos.CodecFor(".webm"));
            TestServer server = await fixture.StartServerAsync();
            await WithPageAsync(server, async page =>
            {
                await page.GetByTestId("upload-input").SetInputFilesAsync([video, Photo("white_mug.jpg")]);
                await Expect(page.Locator("#upload-progress-text")).ToContainTextAsync("1 photo and 1 video added (2/2)", new() { Timeout = 60_000 });
                await Expect(page.GetByTestId("upload-errors")).ToBeHiddenAsync();
                // The new items are shown: the photo and one card per moment of the video, each with its time.
                ILocator moments = page.Locator(".card.video");
                await Expect(moments.First).ToBeVisibleAsync();
                Assert.InRange(await moments.CountAsync(), 3, 6);
                await Expect(moments.First.GetByTestId("time-badge")).ToHaveTextAsync(new Regex("^▶ 0:00–0:0[1-3]$"));

                // Searchable at once: the beagles photo finds the beagles shot of the uploaded video, which plays from its start.
                await DropFileAsync(page, "drop-zone", Photo("two_beagles.jpg"), "image/jpeg");
                ILocator best = page.Locator(".card.video").First;
                await Expect(best.GetByTestId("time-badge")).ToHaveTextAsync(new Regex("^▶ 0:0[12]–0:0[34]$"));
                await best.Locator("button.open").ClickAsync();
                IElementHandle player = await page.GetByTestId("moment-player").ElementHandleAsync();
                await page.WaitForFunctionAsync("v => !v.paused && v.currentTime > 0 && v.readyState >= 2", player);
                Assert.InRange(await player.EvaluateAsync<double>("v => v.currentTime"), cuts[0] - 0.25, cuts[1] + 0.25);
            });
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Uploading_shows_percent_rate_and_time_left_then_the_servers_progress_then_the_video_is_searchable()
    {
        string folder = Directory.CreateTempSubdirectory("omnivec-web-upload-progress-").FullName;
        try
        {
            // 33 s in twelve shots, about 0.7 MB sent at 200 kB/s: several seconds of upload, so progress is reported many
            // times; then the server reads the 33 s and reports how far it has got (every 100 ms here) until it is indexed.
            string video = Path.Combine(folder, "picnic-long.mp4");
            TestVideos.MakeShots(video, [("tomatoes.jpg", 2.0), ("two_beagles.jpg", 2.0), ("bananas.jpg", 2.0), ("hotdog.jpg", 3.0), ("white_mug.jpg", 3.0),
                ("espresso_cup.png", 3.0), ("palm_trees_sky.jpg", 3.0), ("kodak_red_door.png", 3.0), ("astronaut.png", 3.0), ("heather_flowers.jpg", 3.0),
                ("motel_sign.jpg", 3.0), ("beach_kitesurfing.jpg", 3.0)], 640, 480,
                codec: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-crf", "30"]);
            long size = new FileInfo(video).Length;
            Assert.InRange(size, 400_000, 30_000_000);
            TestServer server = await fixture.StartConfiguredServerAsync(o => o.UploadProgressInterval = TimeSpan.FromMilliseconds(100));
            await WithPageAsync(server, async page =>
            {
                // Chromium's own network throttling (DevTools protocol) slows the upload, as a slow link would.
                ICDPSession cdp = await page.Context.NewCDPSessionAsync(page);
                await cdp.SendAsync("Network.enable");
                await cdp.SendAsync("Network.emulateNetworkConditions", new Dictionary<string, object>
                {
                    ["offline"] = false, ["latency"] = 0, ["downloadThroughput"] = -1, ["uploadThroughput"] = 200_000,
                });
                // Every text the progress line shows, in order (the states pass too quickly to poll for).
                await page.EvaluateAsync("""
                    () => {
                      const el = document.querySelector('#upload-progress-text');
                      window.__progress = [];
                      new MutationObserver(() => window.__progress.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
                    }
                    """);

                await page.GetByTestId("upload-input").SetInputFilesAsync(video);
                await Expect(page.Locator("#upload-progress-text")).ToContainTextAsync("1 video added (1/1)", new() { Timeout = 120_000 });
                string[] shown = await page.EvaluateAsync<string[]>("() => window.__progress");
                string all = "progress texts: " + string.Join(" | ", shown);

                var uploading = new Regex(@"^Uploading 1/1: picnic-long\.mp4 — (\d{1,2})% · [\d.]+ of [\d.]+ MB · ([\d.]+) MB/s · (\d+) s left$");
                Match[] progress = shown.Select(t => uploading.Match(t)).Where(m => m.Success).ToArray();
                Assert.True(progress.Length >= 2, all);
                int[] percents = progress.Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
                Assert.Equal(percents.Order(), percents); // never goes back
                Assert.Contains(percents, p => p is > 0 and < 100);
                // The rate reflects the throttled link (200 kB/s), not loopback speed.
                Assert.Contains(progress, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) is > 0.05 and < 0.5);

                // Then the server's part, from its event stream: the share of the video read, where, how fast, the time
                // left and the moments embedded so far; several times, never going back, after the upload's last text.
                var indexing = new Regex(@"^Finding the moments in picnic-long\.mp4 \(1/1\) — (\d{1,3})% · (\d+):(\d\d) of 0:3[23] · ([\d.]+)× real time · (\d+) s left · (\d+) moments?$");
                int lastUpload = Array.IndexOf(shown, progress[^1].Value);
                Match[] server = shown.Skip(lastUpload + 1).Select(t => indexing.Match(t)).Where(m => m.Success).ToArray();
                Assert.True(server.Length >= 3, all);
                int[] read = server.Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
                Assert.Equal(read.Order(), read);
                Assert.True(read.Distinct().Count() >= 2, all);
                Assert.Contains(read, p => p is > 0 and < 100);
                int[] at = server.Select(m => (int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) * 60) + int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)).ToArray();
                Assert.Equal(at.Order(), at);
                Assert.All(server, m => Assert.True(double.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture) > 0, m.Value));
                int[] moments = server.Select(m => int.Parse(m.Groups[6].Value, CultureInfo.InvariantCulture)).ToArray();
                Assert.Equal(moments.Order(), moments);
                Assert.EndsWith("1 video added (1/1)", shown[^1]);

                // And the video is searchable: the beagles photo finds the beagles shot.
                await cdp.SendAsync("Network.emulateNetworkConditions", new Dictionary<string, object>
                {
                    ["offline"] = false, ["latency"] = 0, ["downloadThroughput"] = -1, ["uploadThroughput"] = -1,
                });
                await DropFileAsync(page, "drop-zone", Photo("two_beagles.jpg"), "image/jpeg");
                await Expect(page.Locator(".card.video").First.GetByTestId("time-badge")).ToHaveTextAsync(new Regex("^▶ 0:0[12]–0:0[34]$"));
            });
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [GeneratedRegex(@"^▶ 0:0[12]–0:0[34]$")]
    private static partial Regex TimeBadge();
}
