using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Omnivec.Tests;
using static Microsoft.Playwright.Assertions;

namespace Omnivec.Web.Tests;

/// <summary>Drives the real page in headless Chromium against the real server and the tiny test model.</summary>
public sealed partial class SearchPageTests(WebFixture fixture) : IClassFixture<WebFixture>
{
    private static string Photo(string name) => TestPaths.CorpusFile("images", "photos", name);

    [Fact]
    public Task Typing_a_query_shows_result_cards_with_scores() => WithPageAsync(fixture.Server, async page =>
    {
        const string query = "a cat lying on a sofa";
        // Words are searched with the relevance cutoff, as the CLI does: what stands out (or names every word), not
        // the whole collection ranked. The tiny random-weight model lets a few photos through, not all twelve.
        (long[] expected, bool noMatch) = await fixture.Server.SearchCutAsync("default", [new { text = query, weight = 1 }], 24);
        Assert.False(noMatch);
        Assert.InRange(expected.Length, 1, WebFixture.SeedPhotos.Length - 1);
        await page.GetByTestId("search-input").FillAsync(query);

        // The debounced search fires without Enter.
        ILocator cards = page.GetByTestId("result-card");
        await Expect(page.GetByTestId("results-status")).ToHaveTextAsync(expected.Length == 1 ? $"1 result for “{query}”" : $"{expected.Length} results for “{query}”");
        await Expect(cards).ToHaveCountAsync(expected.Length);

        IReadOnlyList<string> badges = await page.GetByTestId("score").AllInnerTextsAsync();
        Assert.Equal(await cards.CountAsync(), badges.Count);
        Assert.All(badges, b => Assert.Matches(ScoreText(), b));
        // The order is the API's (hybrid: the cosine ranking fused with names matching the words).
        string[] shownIds = await Task.WhenAll((await cards.AllAsync()).Select(async c => (await c.GetAttributeAsync("data-id"))!));
        Assert.Equal(expected.Select(e => e.ToString(CultureInfo.InvariantCulture)), shownIds);
        await Expect(page.GetByTestId("show-nearest")).ToBeHiddenAsync();

        // Thumbnails come from the server and actually decode.
        await WaitForImageAsync(cards.First.Locator("img.thumb"));
        Assert.Contains("q=a+cat", page.Url, StringComparison.Ordinal);
    });

    [Fact]
    public Task Less_like_and_more_like_chips_and_a_not_term_steer_the_search_like_the_api() => WithPageAsync(fixture.Server, async page =>
    {
        const string query = "a dog on a road";
        // Nothing stands out for these words with the tiny model: the page says so, and steering starts from the nearest items.
        Assert.True((await fixture.Server.SearchCutAsync("default", [new { text = query, weight = 1 }], 24)).NoMatch);
        await page.GetByTestId("search-input").FillAsync(query);
        await Expect(page.GetByTestId("results-status")).ToHaveTextAsync($"No match for “{query}”");
        await page.GetByTestId("show-nearest").ClickAsync();
        ILocator cards = page.GetByTestId("result-card");
        await Expect(cards.First).ToBeVisibleAsync();
        await Expect(page.GetByTestId("results-status")).ToContainTextAsync($"for “{query}” (none stands out)");

        // Read in one step in the page: the grid may be re-rendered (and shrink) between reading its cards one by one.
        async Task<long[]> CardIdsAsync() => await SearchPageTests.CardIdsAsync(cards);
        async Task ExpectCardsAsync(long[] expected)
        {
            // The page re-searches after each change; wait for it to show the answer the API gives for the same terms.
            for (int attempt = 0; attempt < 200 && !(await CardIdsAsync()).SequenceEqual(expected); attempt++)
            {
                await page.WaitForTimeoutAsync(100);
            }

            Assert.Equal(expected, await CardIdsAsync());
        }

        long first = (await CardIdsAsync())[0];
        await cards.First.HoverAsync();
        await cards.First.GetByTestId("less-like").ClickAsync();
        ILocator chip = page.GetByTestId("steer-chip");
        await Expect(chip).ToHaveCountAsync(1);
        await Expect(chip).ToHaveAttributeAsync("data-weight", "-1");
        await Expect(chip).ToContainTextAsync("Less like");
        long[] less = await fixture.Server.SearchQueryAsync("default", [new { text = query, weight = 1 }, new { item_id = first, weight = -1 }], 24);
        await ExpectCardsAsync(less);
        Assert.NotEqual(first, less[0]);
        await Expect(page.GetByTestId("results-status")).ToContainTextAsync($"item {first}");

        // "not …" words: a text term of weight −1, before the chips.
        await page.GetByTestId("not-input").FillAsync("bananas");
        await ExpectCardsAsync(await fixture.Server.SearchQueryAsync("default",
            [new { text = query, weight = 1 }, new { text = "bananas", weight = -1 }, new { item_id = first, weight = -1 }], 24));

        // "More like" a result adds a positive example (left out of the results); removing the chips and words restores the plain search.
        long[] shown = await CardIdsAsync();
        long liked = shown.Last(id => id != first); // the "less like" photo itself is still shown (last, most likely)
        ILocator likedCard = page.Locator($"[data-testid=result-card][data-id='{liked}']");
        await likedCard.HoverAsync();
        await likedCard.GetByTestId("more-like").ClickAsync();
        await Expect(chip).ToHaveCountAsync(2);
        long[] more = await fixture.Server.SearchQueryAsync("default",
            [new { text = query, weight = 1 }, new { text = "bananas", weight = -1 }, new { item_id = first, weight = -1 }, new { item_id = liked, weight = 1 }], 24);
        await ExpectCardsAsync(more);
        Assert.DoesNotContain(liked, more);

        // Each removal re-renders the chips: always take the first one left.
        for (int left = 2; left > 0; left--)
        {
            await page.GetByTestId("steer-chips").Locator("button").First.ClickAsync();
            await Expect(chip).ToHaveCountAsync(left - 1);
        }

        await page.GetByTestId("not-input").FillAsync("");
        await Expect(chip).ToHaveCountAsync(0);
        await ExpectCardsAsync(await fixture.Server.SearchQueryAsync("default", [new { text = query, weight = 1 }], 24));
        await Expect(page.GetByTestId("results-status")).ToContainTextAsync($"for “{query}”");
    });

    [Fact]
    public Task Dropping_a_photo_finds_that_photo_first() => WithPageAsync(fixture.Server, async page =>
    {
        const string name = "two_beagles.jpg";
        await DropFileAsync(page, "drop-zone", Photo(name), "image/jpeg");

        await Expect(page.GetByTestId("query-image")).ToBeVisibleAsync();
        ILocator first = page.GetByTestId("result-card").First;
        await Expect(first).ToHaveAttributeAsync("data-id", fixture.Server.SeedIds[name].ToString(CultureInfo.InvariantCulture));
        double score = double.Parse((await first.GetAttributeAsync("data-score"))!, CultureInfo.InvariantCulture);
        Assert.InRange(score, 0.99, 1.0001);
        await Expect(first.GetByTestId("score")).ToHaveTextAsync("1.00");

        // Clearing the chip returns to the empty state.
        await page.GetByRole(AriaRole.Button, new() { Name = "Clear query image" }).ClickAsync();
        await Expect(page.GetByTestId("query-image")).ToBeHiddenAsync();
        await Expect(page.GetByTestId("result-card")).ToHaveCountAsync(0);
    });

    [Fact]
    public Task Picking_an_image_file_searches_by_image() => WithPageAsync(fixture.Server, async page =>
    {
        const string name = "bananas.jpg";
        await page.GetByTestId("search-file").SetInputFilesAsync(Photo(name));
        await Expect(page.GetByTestId("query-image")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("result-card").First).ToHaveAttributeAsync("data-id", fixture.Server.SeedIds[name].ToString(CultureInfo.InvariantCulture));
    });

    [Fact]
    public Task A_slow_search_shows_loading_skeletons_then_results() => WithPageAsync(fixture.Server, async page =>
    {
        var release = new TaskCompletionSource();
        await page.RouteAsync("**/v1/search", async route =>
        {
            await release.Task;
            await route.ContinueAsync();
        });
        await page.GetByTestId("search-input").FillAsync("a boardwalk");
        await page.GetByTestId("search-input").PressAsync("Enter");

        await Expect(page.Locator("#results .card.skeleton").First).ToBeVisibleAsync();
        await Expect(page.GetByTestId("results")).ToHaveAttributeAsync("aria-busy", "true");
        await Expect(page.GetByTestId("results-status")).ToHaveTextAsync("Searching…");
        await KeepScreenshotAsync(page, "skeleton");

        release.SetResult();
        await Expect(page.GetByTestId("result-card").First).ToBeVisibleAsync();
        await Expect(page.Locator("#results .card.skeleton")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("results")).ToHaveAttributeAsync("aria-busy", "false");
    });

    [Fact]
    public Task Pasting_an_image_searches_by_it() => WithPageAsync(fixture.Server, async page =>
    {
        const string name = "tomatoes.jpg";
        string base64 = Convert.ToBase64String(await File.ReadAllBytesAsync(Photo(name)));
        await page.EvaluateAsync(
            """
            ([base64, name]) => {
              const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
              const dt = new DataTransfer();
              dt.items.add(new File([bytes], name, { type: 'image/jpeg' }));
              document.body.dispatchEvent(new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: dt }));
            }
            """,
            new object[] { base64, name });
        await Expect(page.Locator("#query-image-name")).ToHaveTextAsync(name);
        await Expect(page.GetByTestId("result-card").First).ToHaveAttributeAsync("data-id", fixture.Server.SeedIds[name].ToString(CultureInfo.InvariantCulture));
    });

    [Fact]
    public Task The_keyboard_alone_can_search_and_drill_down() => WithPageAsync(fixture.Server, async page =>
    {
        await page.Keyboard.PressAsync("/");
        await Expect(page.GetByTestId("search-input")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync("bananas");
        await page.Keyboard.PressAsync("Enter");
        ILocator first = page.GetByTestId("result-card").First;
        await Expect(first).ToBeVisibleAsync();
        await Expect(page.GetByTestId("results-status")).ToContainTextAsync("for “bananas”");

        // Tab past the picker button to the first card, then Enter opens "more like this".
        ILocator open = first.Locator("button.open");
        for (int i = 0; i < 6 && !await open.EvaluateAsync<bool>("b => b === document.activeElement"); i++)
        {
            await page.Keyboard.PressAsync("Tab");
        }

        await Expect(open).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByTestId("results-status")).ToContainTextAsync("similar photos to");
        await page.Keyboard.PressAsync("Alt+Backspace");
        await Expect(page.GetByTestId("results-status")).ToContainTextAsync("for “bananas”");
    });

    [Fact]
    public Task Uploading_two_photos_shows_progress_and_adds_them() => WithPageAsync(fixture.Server, async page =>
    {
        long before = await fixture.Server.CountAsync("default");
        await Expect(page.GetByTestId("collection-select").Locator("option:checked")).ToContainTextAsync($"{before} items");

        await page.GetByTestId("upload-input").SetInputFilesAsync([Photo("kitten_closeup_tall.jpg"), Photo("grace_hopper_128.jpg")]);

        await Expect(page.GetByTestId("upload-progress")).ToBeVisibleAsync();
        await Expect(page.Locator("#upload-progress-text")).ToContainTextAsync("2 photos added (2/2)");
        Assert.Equal(1.0, await page.GetByTestId("upload-progress").EvaluateAsync<double>("p => p.value"));

        // With no search on screen the new items are shown, and the picker's count moves by two.
        ILocator cards = page.GetByTestId("result-card");
        await Expect(cards).ToHaveCountAsync(2);
        Assert.Equal(["grace_hopper_128.jpg", "kitten_closeup_tall.jpg"], (await cards.Locator(".name").AllInnerTextsAsync()).Order());
        await Expect(page.GetByTestId("collection-select").Locator("option:checked")).ToContainTextAsync($"{before + 2} items");
        Assert.Equal(before + 2, await fixture.Server.CountAsync("default"));
        await Expect(page.GetByTestId("upload-errors")).ToBeHiddenAsync();
    });

    [Fact]
    public Task Clicking_a_result_shows_more_like_it_with_a_way_back() => WithPageAsync(fixture.Server, async page =>
    {
        await page.GetByTestId("search-input").FillAsync("a dog");
        await page.GetByTestId("search-input").PressAsync("Enter");
        ILocator cards = page.GetByTestId("result-card");
        (long[] found, _) = await fixture.Server.SearchCutAsync("default", [new { text = "a dog", weight = 1 }], 24);
        Assert.NotEmpty(found);
        await Expect(cards).ToHaveCountAsync(found.Length);

        ILocator picked = cards.Last;
        string id = (await picked.GetAttributeAsync("data-id"))!;
        string name = await picked.Locator(".name").InnerTextAsync();
        await picked.Locator("button.open").ClickAsync();

        await Expect(page.GetByTestId("results-status")).ToContainTextAsync($"similar photos to {name}");
        await Expect(page.Locator("#crumbs")).ToContainTextAsync($"Like {name}");
        await Expect(page.GetByTestId("query-image")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("search-input")).ToHaveValueAsync("");

        // The page asked for neighbours of that item: same ids, same order as the API gives for item_id (which leaves the item out).
        long[] expected = await fixture.Server.SearchByItemAsync("default", long.Parse(id, CultureInfo.InvariantCulture), 24);
        Assert.NotEmpty(expected);
        await Expect(cards).ToHaveCountAsync(expected.Length);
        string[] shown = await Task.WhenAll((await cards.AllAsync()).Select(async c => (await c.GetAttributeAsync("data-id"))!));
        Assert.Equal(expected.Select(e => e.ToString(CultureInfo.InvariantCulture)), shown);

        await KeepScreenshotAsync(page, "more-like-this");
        await page.GetByRole(AriaRole.Button, new() { Name = "Back", Exact = true }).ClickAsync();
        await Expect(page.GetByTestId("results-status")).ToContainTextAsync("for “a dog”");
        await Expect(page.Locator("#crumbs")).ToBeHiddenAsync();
    });

    [Fact]
    public Task Words_with_no_match_show_no_match_and_the_nearest_only_on_request() => WithPageAsync(fixture.Server, async page =>
    {
        const string query = "a dog on a road";
        object[] terms = [new { text = query, weight = 1 }];
        (long[] cut, bool noMatch) = await fixture.Server.SearchCutAsync("default", terms, 24);
        Assert.True(noMatch);
        Assert.Empty(cut);

        await page.GetByTestId("search-input").FillAsync(query);
        await page.GetByTestId("search-input").PressAsync("Enter");
        ILocator cards = page.GetByTestId("result-card");
        await Expect(page.GetByTestId("results-status")).ToHaveTextAsync($"No match for “{query}”");
        await Expect(page.Locator("#empty")).ToBeVisibleAsync();
        await Expect(page.Locator("#empty-title")).ToHaveTextAsync("No match");
        await Expect(page.Locator("#empty-text")).ToContainTextAsync("stands out");
        await Expect(page.Locator("#empty-text")).ToContainTextAsync("no file name, folder, camera or caption contains all its words");
        Assert.Equal(0, await cards.CountAsync());
        await KeepScreenshotAsync(page, "no-match");

        // On request, the nearest items (the API's uncut answer), said to be only the nearest.
        await page.GetByTestId("show-nearest").ClickAsync();
        long[] nearest = await fixture.Server.SearchQueryAsync("default", terms, 24);
        Assert.True(nearest.Length >= WebFixture.SeedPhotos.Length); // every photo (other tests may have added some)
        await Expect(cards).ToHaveCountAsync(nearest.Length);
        Assert.Equal(nearest, await CardIdsAsync(cards));
        await Expect(page.GetByTestId("results-status")).ToHaveTextAsync($"{nearest.Length} nearest results for “{query}” (none stands out)");
        await Expect(page.GetByTestId("show-nearest")).ToBeHiddenAsync();

        // A new search is cut again: only what matches ("bananas" names bananas.jpg).
        (long[] bananas, _) = await fixture.Server.SearchCutAsync("default", [new { text = "bananas", weight = 1 }], 24);
        Assert.Contains(fixture.Server.SeedIds["bananas.jpg"], bananas);
        Assert.True(bananas.Length < WebFixture.SeedPhotos.Length);
        await page.GetByTestId("search-input").FillAsync("bananas");
        await page.GetByTestId("search-input").PressAsync("Enter");
        await Expect(cards).ToHaveCountAsync(bananas.Length);
        Assert.Equal(bananas, await CardIdsAsync(cards));

        // Names only: words no name holds are "no match" with the reason in the mode's terms.
        await page.GetByTestId("mode-select").SelectOptionAsync("text");
        await page.GetByTestId("search-input").FillAsync("zebra");
        await page.GetByTestId("search-input").PressAsync("Enter");
        Assert.True((await fixture.Server.SearchCutAsync("default", [new { text = "zebra", weight = 1 }], 24, mode: "text")).NoMatch);
        await Expect(page.GetByTestId("results-status")).ToHaveTextAsync("No match for “zebra”");
        await Expect(page.Locator("#empty-text")).ToContainTextAsync("No file name, folder, camera or caption in “default” contains every word of “zebra”");
        Assert.Equal(0, await cards.CountAsync());
    });

    [Fact]
    public async Task Sorting_by_date_or_name_shows_only_the_matches_in_that_order()
    {
        // A collection of dated photos (EXIF capture times 2003 to 2021, two without one): three named "holiday".
        const string collection = "dated";
        Dictionary<string, long> ids = await fixture.Server.UploadAsync(collection,
        [
            (Photo("beach_kitesurfing.jpg"), "holiday_kite.jpg"), (Photo("plumeria_flower.jpg"), "holiday_flower.jpg"),
            (Photo("snowy_mountain_peak.jpg"), "holiday_peak.jpg"), (Photo("building_red_lettering.jpg"), "building_red_lettering.jpg"),
            (Photo("navy_propeller_plane.jpg"), "navy_propeller_plane.jpg"), (Photo("heather_flowers.jpg"), "heather_flowers.jpg"),
            (Photo("three_men_indoors.jpg"), "three_men_indoors.jpg"), (Photo("hotdog.jpg"), "hotdog.jpg"), (Photo("white_mug.jpg"), "white_mug.jpg"),
        ]);
        long[] holiday = [ids["holiday_kite.jpg"], ids["holiday_flower.jpg"], ids["holiday_peak.jpg"]];
        object[] terms = [new { text = "holiday", weight = 1 }];
        (long[] byScore, _) = await fixture.Server.SearchCutAsync(collection, terms, 24);
        Assert.Subset(byScore.ToHashSet(), holiday.ToHashSet());
        Assert.True(byScore.Length < ids.Count, "the cutoff leaves out photos that neither stand out nor are named 'holiday'");

        await WithPageAsync(fixture.Server, async page =>
        {
            await page.GetByTestId("collection-select").SelectOptionAsync(collection);
            await page.GetByTestId("search-input").FillAsync("holiday");
            await page.GetByTestId("search-input").PressAsync("Enter");
            ILocator cards = page.GetByTestId("result-card");
            await Expect(cards).ToHaveCountAsync(byScore.Length);
            Assert.Equal(byScore, await CardIdsAsync(cards));

            // Each order shows the same matches (not the nearest nine sorted), in the API's order for that sort.
            foreach ((string sort, string said) in new[] { ("date", "oldest first"), ("-date", "newest first"), ("path", "by name") })
            {
                (long[] expected, _) = await fixture.Server.SearchCutAsync(collection, terms, 24, sort);
                Assert.Equal(byScore.Order(), expected.Order());
                await page.GetByTestId("sort-select").SelectOptionAsync(sort);
                await Expect(page.GetByTestId("results-status")).ToHaveTextAsync($"{byScore.Length} results for “holiday”, {said}");
                await Expect(cards).ToHaveCountAsync(expected.Length);
                Assert.Equal(expected, await CardIdsAsync(cards));
            }

            // Oldest first really is by capture time: the 2003 flower before the 2010 kite before the 2012 peak.
            await page.GetByTestId("sort-select").SelectOptionAsync("date");
            await Expect(page.GetByTestId("results-status")).ToContainTextAsync("oldest first");
            long[] oldest = await CardIdsAsync(cards);
            Assert.True(Array.IndexOf(oldest, ids["holiday_flower.jpg"]) < Array.IndexOf(oldest, ids["holiday_kite.jpg"])
                && Array.IndexOf(oldest, ids["holiday_kite.jpg"]) < Array.IndexOf(oldest, ids["holiday_peak.jpg"]), string.Join(",", oldest));

            // By name is by the names people see (uploads are stored under content-derived file names).
            await page.GetByTestId("sort-select").SelectOptionAsync("path");
            await Expect(page.GetByTestId("results-status")).ToContainTextAsync("by name");
            long[] byName = await CardIdsAsync(cards);
            Assert.Equal([ids["holiday_flower.jpg"], ids["holiday_kite.jpg"], ids["holiday_peak.jpg"]], byName.Where(holiday.Contains));

            // An image search sorted by date is cut too (what the API answers with the cutoff; with the tiny model's
            // look-alike image vectors even the photo itself does not stand out), not every photo ordered by date.
            const string picture = "heather_flowers.jpg";
            (long[] similar, bool none) = await fixture.Server.SearchAsync(new Dictionary<string, object>
            {
                ["collection"] = collection, ["image"] = Convert.ToBase64String(await File.ReadAllBytesAsync(Photo(picture))),
                ["top_k"] = 24, ["all"] = false, ["sort"] = "date",
            });
            Assert.True(similar.Length < ids.Count, string.Join(",", similar));
            await page.GetByTestId("sort-select").SelectOptionAsync("date");
            await page.GetByTestId("search-file").SetInputFilesAsync(Photo(picture));
            await Expect(page.GetByTestId("query-image")).ToBeVisibleAsync();
            await Expect(page.GetByTestId("results-status")).ToHaveTextAsync(none ? "No match" : $"{similar.Length} similar photo{(similar.Length == 1 ? "" : "s")}, oldest first");
            Assert.Equal(similar, await CardIdsAsync(cards));
            await Expect(page.GetByTestId("show-nearest")).ToBeVisibleAsync(new() { Visible = none });

            // Best match again: an image shows its nearest photos, as `similar` does.
            await page.GetByTestId("sort-select").SelectOptionAsync("score");
            await Expect(cards).ToHaveCountAsync(ids.Count);
        });
    }

    /// <summary>The ids of the cards on screen, read in one step in the page (a re-render cannot fall between two of them).</summary>
    private static async Task<long[]> CardIdsAsync(ILocator cards) =>
        (await cards.EvaluateAllAsync<string[]>("cards => cards.map(c => c.dataset.id)"))
            .Select(id => long.Parse(id, CultureInfo.InvariantCulture)).ToArray();

    [Fact]
    public Task Details_drawer_shows_metadata_and_links_to_the_original() => WithPageAsync(fixture.Server, async page =>
    {
        await page.GetByTestId("search-input").FillAsync("mug");
        await page.GetByTestId("search-input").PressAsync("Enter");
        const string file = "white_mug.jpg";
        ILocator card = page.Locator($"[data-testid=result-card][data-id='{fixture.Server.SeedIds[file]}']");
        await Expect(card).ToBeVisibleAsync();
        string name = await card.Locator(".name").InnerTextAsync();

        await card.HoverAsync();
        await card.Locator("button.info").ClickAsync();
        ILocator drawer = page.Locator("#drawer");
        await Expect(drawer).ToBeVisibleAsync();
        await Expect(page.Locator("#drawer-title")).ToHaveTextAsync(name);
        await Expect(page.Locator("#drawer-fields")).ToContainTextAsync("Dimensions");
        await Expect(page.Locator("#drawer-fields")).ToContainTextAsync("Size");

        string href = (await page.Locator("#drawer-open").GetAttributeAsync("href"))!;
        IAPIResponse original = await page.APIRequest.GetAsync(href);
        Assert.Equal(200, original.Status);
        Assert.Equal(await File.ReadAllBytesAsync(Photo(file)), await original.BodyAsync());

        await KeepScreenshotAsync(page, "drawer");
        await page.Keyboard.PressAsync("Escape");
        await Expect(drawer).ToBeHiddenAsync();
    });

    [Fact]
    public Task Classify_shows_bars_that_sum_to_one_hundred_percent() => WithPageAsync(fixture.Server, async page =>
    {
        await page.GetByTestId("classify-input").SetInputFilesAsync(Photo("tabby_cat_lying.jpg"));
        await Expect(page.Locator("#classify-preview")).ToBeVisibleAsync();
        await page.GetByTestId("classify-labels").FillAsync("a cat, a dog, a banana");
        await page.GetByTestId("classify-run").ClickAsync();

        ILocator bars = page.GetByTestId("classify-results").GetByTestId("classify-bar");
        await Expect(bars).ToHaveCountAsync(3);
        Assert.Equal(["a banana", "a cat", "a dog"], (await bars.Locator(".label").AllInnerTextsAsync()).Order());

        double[] percents = (await bars.Locator(".pct").AllInnerTextsAsync())
            .Select(t => double.Parse(t.TrimEnd('%'), CultureInfo.InvariantCulture)).ToArray();
        Assert.InRange(percents.Sum(), 99.8, 100.2);
        Assert.Equal(percents.OrderByDescending(p => p), percents);

        double[] probabilities = await Task.WhenAll((await bars.AllAsync()).Select(async b => double.Parse((await b.GetAttributeAsync("data-probability"))!, CultureInfo.InvariantCulture)));
        Assert.InRange(probabilities.Sum(), 0.999, 1.001);

        // The widest bar belongs to the top label.
        string style = (await bars.First.Locator(".fill").GetAttributeAsync("style"))!;
        double width = double.Parse(BarWidth().Match(style).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(width, percents[0] - 0.06, percents[0] + 0.06);
    });

    [Fact]
    public Task A_bad_image_upload_shows_an_error_toast_and_the_page_keeps_working() => WithPageAsync(fixture.Server, async page =>
    {
        long before = await fixture.Server.CountAsync("default");
        string dir = Directory.CreateTempSubdirectory("omnivec-web-bad-").FullName;
        try
        {
            string bad = Path.Combine(dir, "broken.jpg");
            await File.WriteAllTextAsync(bad, "this is plain text, not a JPEG");
            await page.GetByTestId("upload-input").SetInputFilesAsync(bad);

            ILocator toast = page.GetByTestId("toast").Filter(new() { HasText = "broken.jpg" });
            await Expect(toast).ToBeVisibleAsync();
            await Expect(page.GetByTestId("upload-errors")).ToContainTextAsync("broken.jpg");
            // The toast carries the server's reason, not just a status code.
            Assert.True((await toast.InnerTextAsync()).Length > "Could not add broken.jpg".Length + 5, await toast.InnerTextAsync());
            Assert.Equal(before, await fixture.Server.CountAsync("default"));

            await page.GetByTestId("search-input").FillAsync("palm trees");
            await page.GetByTestId("search-input").PressAsync("Enter");
            await Expect(page.GetByTestId("result-card").First).ToBeVisibleAsync();
            await Expect(page.GetByTestId("results-status")).ToContainTextAsync("for “palm trees”");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    });

    [Fact]
    public async Task With_an_api_key_the_page_asks_for_it_and_then_works()
    {
        TestServer secured = await fixture.StartServerAsync("web-test-key");
        await secured.UploadAsync("default", [Photo("hotdog.jpg"), Photo("white_mug.jpg")]);

        await WithPageAsync(secured, async page =>
        {
            // Listing collections is refused: the error is shown and the key dialog opens.
            await Expect(page.GetByTestId("toast").First).ToContainTextAsync("API key");
            await Expect(page.Locator("#settings")).ToBeVisibleAsync();
            await page.GetByTestId("api-key").FillAsync("web-test-key");
            await page.Locator("#api-key-save").ClickAsync();

            await Expect(page.GetByTestId("collection-select").Locator("option:checked")).ToContainTextAsync("2 items");
            await page.GetByTestId("search-input").FillAsync("hot dog");
            await page.GetByTestId("search-input").PressAsync("Enter");
            ILocator cards = page.GetByTestId("result-card");
            await Expect(cards).ToHaveCountAsync(2);
            // Thumbnails sit behind the key too, so the page fetches them with it.
            await Expect(cards.First.Locator("img.thumb")).ToHaveAttributeAsync("src", BlobUrl());
            await WaitForImageAsync(cards.Last.Locator("img.thumb"));
            Assert.Equal("web-test-key", await page.EvaluateAsync<string>("() => localStorage.getItem('omnivec.apiKey')"));
        }, allowedConsoleErrors: "401");
    }

    /// <summary>For looking at the page by eye: with OMNIVEC_WEB_SCREENSHOTS=&lt;folder&gt;, saves the page as it is now.</summary>
    private static async Task KeepScreenshotAsync(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("OMNIVEC_WEB_SCREENSHOTS") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, name + ".png") });
        }
    }

    /// <summary>Waits until the image has loaded and decoded to real pixels (a broken or empty img never does).</summary>
    private static async Task WaitForImageAsync(ILocator image)
    {
        IElementHandle handle = await image.ElementHandleAsync();
        await image.Page.WaitForFunctionAsync("img => img.complete && img.naturalWidth > 0", handle);
    }

    /// <summary>Dispatches a real drag-and-drop of a file onto an element, with the DataTransfer built in the page.</summary>
    private static async Task DropFileAsync(IPage page, string testId, string path, string mediaType)
    {
        string base64 = Convert.ToBase64String(await File.ReadAllBytesAsync(path));
        await page.EvaluateAsync(
            """
            ([testId, base64, name, type]) => {
              const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
              const dt = new DataTransfer();
              dt.items.add(new File([bytes], name, { type }));
              const target = document.querySelector(`[data-testid="${testId}"]`);
              for (const kind of ['dragenter', 'dragover', 'drop']) {
                target.dispatchEvent(new DragEvent(kind, { bubbles: true, cancelable: true, dataTransfer: dt }));
              }
            }
            """,
            new object[] { testId, base64, Path.GetFileName(path), mediaType });
    }

    /// <summary>Opens the page in a fresh context, fails on uncaught script errors, and saves a screenshot when the test fails.</summary>
    private async Task WithPageAsync(TestServer server, Func<IPage, Task> body, string? allowedConsoleErrors = null, [CallerMemberName] string test = "")
    {
        IBrowserContext context = await fixture.Browser.NewContextAsync(new()
        {
            BaseURL = server.BaseUrl.ToString(),
            ViewportSize = new() { Width = 1280, Height = 900 },
        });
        context.SetDefaultTimeout(20_000);
        SetDefaultExpectTimeout(20_000);
        IPage page = await context.NewPageAsync();
        var scriptErrors = new List<string>();
        page.PageError += (_, error) => scriptErrors.Add(error);
        page.Console += (_, message) =>
        {
            // Failed requests are logged by the browser itself ("Failed to load resource"); bad uploads expect those.
            if (message.Type == "error" && !message.Text.Contains("Failed to load resource", StringComparison.Ordinal)
                && (allowedConsoleErrors is null || !message.Text.Contains(allowedConsoleErrors, StringComparison.Ordinal)))
            {
                scriptErrors.Add(message.Text);
            }
        };
        try
        {
            await page.GotoAsync("/");
            await Expect(page.Locator("html[data-ready]")).ToHaveCountAsync(1);
            await body(page);
            Assert.True(scriptErrors.Count == 0, "Script errors in the page: " + string.Join(" | ", scriptErrors));
            await KeepScreenshotAsync(page, test);
        }
        catch
        {
            string dir = Path.Combine(AppContext.BaseDirectory, "playwright-failures");
            Directory.CreateDirectory(dir);
            try
            {
                await page.ScreenshotAsync(new() { Path = Path.Combine(dir, test + ".png"), FullPage = true });
            }
            catch (PlaywrightException)
            {
                // A page that cannot be captured must not hide the test's own failure.
            }

            throw;
        }
        finally
        {
            await context.CloseAsync();
        }
    }

    [GeneratedRegex("^blob:")]
    private static partial Regex BlobUrl();

    [GeneratedRegex(@"width:\s*([\d.]+)%")]
    private static partial Regex BarWidth();

    [GeneratedRegex(@"^-?\d\.\d\d$")]
    private static partial Regex ScoreText();
}
