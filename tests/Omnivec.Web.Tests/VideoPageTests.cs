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

    [GeneratedRegex(@"^▶ 0:0[12]–0:0[34]$")]
    private static partial Regex TimeBadge();
}
