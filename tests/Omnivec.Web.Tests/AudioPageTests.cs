using Microsoft.Playwright;
using Omnivec.Index;
using Omnivec.Indexing;
using Omnivec.Onnx;
using Omnivec.Tests;
using static Microsoft.Playwright.Assertions;

namespace Omnivec.Web.Tests;

/// <summary>A folder of recordings indexed with the tiny CLAP pack: the page plays a found window from its start.</summary>
public sealed partial class SearchPageTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("audio-test-key")]
    public async Task A_found_audio_window_plays_in_an_audio_player_from_its_start(string? apiKey)
    {
        string clips = Path.Combine(TestPaths.Fixtures, "reference", "clap");
        string folder = Directory.CreateTempSubdirectory("omnivec-web-audio-").FullName;
        using ClapEmbeddingGenerator clap = ClapEmbeddingGenerator.Load(Path.Combine(TestPaths.Fixtures, "models", "tiny-clap-hf"));
        try
        {
            foreach (string clip in new[] { "mix-13.5s.wav", "chirp-6.7s.wav" })
            {
                File.Copy(Path.Combine(clips, clip), Path.Combine(folder, clip));
            }

            TestServer server = await fixture.StartServerAsync(clap, async store =>
            {
                using Collection collection = new CollectionStore(store).OpenOrCreate("default", clap.Space);
                FolderIndexReport report = await new FolderIndexer(clap, collection).IndexAsync(folder);
                Assert.Empty(report.Failures);
                Assert.Equal(2, report.Added);
            }, apiKey is null ? [] : [apiKey]);

            await WithPageAsync(server, async page =>
            {
                var ranges = new List<int>();
                page.Response += (_, response) =>
                {
                    if (response.Url.Contains("/content", StringComparison.Ordinal) && response.Request.Headers.ContainsKey("range"))
                    {
                        lock (ranges)
                        {
                            ranges.Add(response.Status);
                        }
                    }
                };

                if (apiKey is not null)
                {
                    // Behind a key: the page asks for it; the player then gets a signed content URL (it cannot send the header).
                    await Expect(page.Locator("#settings")).ToBeVisibleAsync();
                    await page.GetByTestId("api-key").FillAsync(apiKey);
                    await page.Locator("#api-key-save").ClickAsync();
                    await Expect(page.GetByTestId("collection-select").Locator("option:checked")).ToContainTextAsync("3 items");
                }

                await page.GetByTestId("search-input").FillAsync("a dog barking");
                await page.GetByTestId("search-input").PressAsync("Enter");
                // Every window of every recording is a result (three in all), each with its time badge and no picture.
                ILocator cards = page.Locator(".card.audio");
                await Expect(cards).ToHaveCountAsync(3);
                ILocator second = cards.Filter(new() { HasText = "0:03–0:13" });
                await Expect(second).ToHaveCountAsync(1);
                await Expect(second.GetByTestId("time-badge")).ToHaveTextAsync("▶ 0:03–0:13");

                await second.Locator("button.open").ClickAsync();
                ILocator player = page.GetByTestId("moment-audio-player");
                await Expect(player).ToBeVisibleAsync();
                if (apiKey is not null)
                {
                    Assert.Contains("sig=", await player.GetAttributeAsync("src"));
                }

                await Expect(page.GetByTestId("moment-player")).ToBeHiddenAsync();
                IElementHandle handle = await player.ElementHandleAsync();
                // Playing (not paused, time moving) from the window's start, inside the window.
                await page.WaitForFunctionAsync("a => !a.paused && a.currentTime > 3.5 && a.readyState >= 2", handle);
                double at = await handle.EvaluateAsync<double>("a => a.currentTime");
                Assert.InRange(at, 3.5, 13.5);
                Assert.False(await handle.EvaluateAsync<bool>("a => a.muted"));
                await Expect(page.Locator("#drawer-fields")).ToContainTextAsync("audio/wav");

                lock (ranges)
                {
                    Assert.Contains(206, ranges);
                }

                await page.GetByRole(AriaRole.Button, new() { Name = "Close details" }).ClickAsync();
                Assert.True(await handle.EvaluateAsync<bool>("a => a.paused"));
            }, allowedConsoleErrors: apiKey is null ? null : "401");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Dropping_a_recording_searches_by_its_sound_and_finds_the_window_it_was_cut_from()
    {
        string clips = Path.Combine(TestPaths.Fixtures, "reference", "clap");
        string folder = Directory.CreateTempSubdirectory("omnivec-web-audio-drop-").FullName;
        string query = Path.Combine(Directory.CreateTempSubdirectory("omnivec-web-audio-query-").FullName, "query.wav");
        using ClapEmbeddingGenerator clap = ClapEmbeddingGenerator.Load(Path.Combine(TestPaths.Fixtures, "models", "tiny-clap-hf"));
        try
        {
            foreach (string clip in new[] { "mix-13.5s.wav", "chirp-6.7s.wav" })
            {
                File.Copy(Path.Combine(clips, clip), Path.Combine(folder, clip));
            }

            // The recording's second window (3.5–13.5 s), cut out exactly.
            File.WriteAllBytes(query, TestAudio.CutWav(File.ReadAllBytes(Path.Combine(clips, "mix-13.5s.wav")), startSample: 168_000, samples: 480_000));
            TestServer server = await fixture.StartServerAsync(clap, async store =>
            {
                using Collection collection = new CollectionStore(store).OpenOrCreate("default", clap.Space);
                FolderIndexReport report = await new FolderIndexer(clap, collection).IndexAsync(folder);
                Assert.Empty(report.Failures);
            });

            await WithPageAsync(server, async page =>
            {
                await Expect(page.GetByTestId("collection-select").Locator("option:checked")).ToContainTextAsync("3 items");
                await DropFileAsync(page, "drop-zone", query, "audio/wav");
                await Expect(page.Locator("#query-image-name")).ToHaveTextAsync("Sound: query.wav");
                await Expect(page.Locator("#results-status")).ToContainTextAsync("similar sound");
                ILocator first = page.Locator(".card.audio").First;
                await Expect(first.GetByTestId("time-badge")).ToHaveTextAsync("▶ 0:03–0:13");

                // Steered ("not …" words), the recording goes to the server as an audio term of a query list.
                await page.Locator("#not-input").FillAsync("a dog barking");
                await page.Locator("#not-input").PressAsync("Enter");
                await Expect(page.Locator("#results-status")).ToContainTextAsync("audio");
                await Expect(page.Locator(".card.audio")).ToHaveCountAsync(3);
            });
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            Directory.Delete(Path.GetDirectoryName(query)!, recursive: true);
        }
    }
}
