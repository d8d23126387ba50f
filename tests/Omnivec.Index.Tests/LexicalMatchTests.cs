using Omnivec.Index.Search;

namespace Omnivec.Index.Tests;

/// <summary>LexicalMatch: one item's text against words, as the stores' lexical index matches them (used for "not" words).</summary>
public sealed class LexicalMatchTests
{
    private static CollectionItem Item(string path, string? camera = null, string? caption = null, string? uploadedAs = null) => new()
    {
        Path = path,
        Camera = camera,
        Caption = caption,
        Extra = uploadedAs is null ? null : new Dictionary<string, string> { ["name"] = uploadedAs },
    };

    [Theory]
    [InlineData("beach")]
    [InlineData("BEACH")]
    [InlineData("beach dog")]
    [InlineData("beach_dog")]
    [InlineData("beac")] // the last token of a word is also a prefix (three letters or more)
    [InlineData("2019")]
    [InlineData("canon")]
    [InlineData("ete")] // accents are ignored
    public void Words_found_in_the_name_folder_camera_or_caption_match(string words) =>
        Assert.True(LexicalMatch.ContainsAllWords(Item("/photos/2019/beach_dog.jpg", "Canon EOS R5", "Été"), words));

    [Theory]
    [InlineData("cat")]
    [InlineData("beach cat")] // every word must be there
    [InlineData("dog_beach")] // a word's tokens in a row
    [InlineData("be")] // too short to be a prefix
    [InlineData("")]
    [InlineData("  _- ")]
    public void Words_not_all_there_do_not_match(string words) =>
        Assert.False(LexicalMatch.ContainsAllWords(Item("/photos/2019/beach_dog.jpg", "Canon EOS R5", "Été"), words));

    [Fact]
    public void An_upload_matches_by_the_name_it_was_uploaded_with_and_a_video_moment_by_its_video()
    {
        Assert.True(LexicalMatch.ContainsAllWords(Item("/store/uploads/3f2a9c-77b1.jpg", uploadedAs: "Beach Party.jpg"), "party"));
        Assert.False(LexicalMatch.ContainsAllWords(Item("/store/uploads/3f2a9c-77b1.jpg", uploadedAs: "Beach Party.jpg"), "3f2a9c"));
        Assert.True(LexicalMatch.ContainsAllWords(Item("/videos/surf.mp4#t=3.2,6.8"), "surf"));
        Assert.False(LexicalMatch.ContainsAllWords(Item("/videos/surf.mp4#t=3.2,6.8"), "6"));
    }
}
