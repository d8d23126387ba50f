using Omnivec.Text;

namespace Omnivec.Core.Tests.Text;

public class ClipTokenizerTests
{
    private static ClipTokenizer Tokenizer => TokenizerVectors.OpenAI;

    [Fact]
    public void Every_reference_vector_matches_id_for_id()
    {
        Assert.Equal(240, TokenizerVectors.Reference.Count);
        List<string> failures = TokenizerVectors.Mismatches(Tokenizer, TokenizerVectors.Reference, padId: 0);
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches:\n{string.Join("\n", failures)}");
    }

    [Fact]
    public void Every_extra_vector_matches_id_for_id()
    {
        Assert.True(TokenizerVectors.Extra.Count >= 30);
        List<string> failures = TokenizerVectors.Mismatches(Tokenizer, TokenizerVectors.Extra, padId: 0);
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches:\n{string.Join("\n", failures)}");
    }

    [Fact]
    public void OpenAI_file_gives_clip_special_ids_and_defaults()
    {
        Assert.Equal(49406, Tokenizer.StartTokenId);
        Assert.Equal(49407, Tokenizer.EndTokenId);
        Assert.Equal(0, Tokenizer.PadTokenId);
        Assert.Equal(77, Tokenizer.ContextLength);
        Assert.Equal(49408, Tokenizer.VocabularySize);
        Assert.Equal("!", Tokenizer.TokensById[0]);
        Assert.Equal("!</w>", Tokenizer.TokensById[256]);
        Assert.Equal("in", Tokenizer.TokensById[512]); // the first merge, "i n"
    }

    [Fact]
    public void Literal_special_tokens_in_text_encode_as_special_ids()
    {
        Assert.Equal([320, 49407, 321], Tokenizer.EncodeToBpeIds("a<|endoftext|>b"));
        Assert.Equal([49406], Tokenizer.EncodeToBpeIds("<|STARTOFTEXT|>"));
    }

    [Fact]
    public void A_300_word_text_is_cut_to_the_context_keeping_the_end_token()
    {
        string text = string.Join(' ', Enumerable.Range(0, 300).Select(i => i % 2 == 0 ? "photo" : "dog"));
        int[] ids = Tokenizer.Encode(text);

        Assert.Equal(77, ids.Length);
        Assert.Equal(49406, ids[0]);
        Assert.Equal(49407, ids[^1]);
        Assert.Equal(302, Tokenizer.CountTokens(text));
        Assert.Equal(Tokenizer.EncodeToBpeIds(text).Take(75), ids[1..76]);
        Assert.Equal(77, Tokenizer.Encode(text.AsSpan(), new long[77]));
    }

    [Fact]
    public void Exactly_75_bpe_tokens_fit_without_truncation_and_76_do_not()
    {
        string fits = string.Join(' ', Enumerable.Repeat("a", 75));
        Assert.Equal(75, Tokenizer.EncodeToBpeIds(fits).Count);
        Assert.Equal(77, Tokenizer.CountTokens(fits));
        int[] ids = Tokenizer.Encode(fits);
        Assert.Equal(49406, ids[0]);
        Assert.All(ids[1..76], id => Assert.Equal(320, id));
        Assert.Equal(49407, ids[76]);

        string over = fits + " b";
        Assert.Equal(78, Tokenizer.CountTokens(over));
        int[] cut = Tokenizer.Encode(over);
        Assert.Equal(ids, cut); // the extra word is dropped, the end token stays last
    }

    [Fact]
    public void Truncation_keeps_exactly_the_first_75_ids_even_inside_a_multibyte_character()
    {
        // Characters that BPE leaves as several byte tokens, placed so the cut lands inside them.
        string[] tails = ["\U0001D11E\U0001D11E", "\u0e01\u0e02\u0e03\u0e04", "中文字符", "ééé", "\U0001F468\u200D\U0001F469"];
        Span<long> ids = stackalloc long[80];
        for (int words = 68; words <= 76; words++)
        {
            foreach (string tail in tails)
            {
                string text = string.Concat(Enumerable.Repeat("a ", words)) + tail + tail;
                IReadOnlyList<int> all = Tokenizer.EncodeToBpeIds(text);
                int kept = Math.Min(all.Count, 75);
                int[] expected = [49406, .. all.Take(kept), 49407, .. Enumerable.Repeat(0, 75 - kept)];

                ids.Fill(-1);
                int written = Tokenizer.Encode(text.AsSpan(), ids);
                Assert.Equal(kept + 2, written);
                Assert.Equal(expected, ids[..77].ToArray().Select(x => (int)x));
                Assert.All(ids[77..].ToArray(), x => Assert.Equal(-1, x)); // nothing written past the context
            }
        }
    }

    [Fact]
    public void A_destination_shorter_than_the_context_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => Tokenizer.Encode("a dog".AsSpan(), new long[76]));
        Assert.Equal("destination", error.ParamName);
        Assert.Throws<ArgumentException>(() => Tokenizer.Encode("a dog".AsSpan(), new int[10]));
    }

    [Fact]
    public void Empty_text_is_start_end_and_padding()
    {
        Assert.Equal([49406, 49407, .. Enumerable.Repeat(0, 75)], Tokenizer.Encode(""));
        Assert.Equal(2, Tokenizer.Encode("   \t\n ".AsSpan(), new int[77]));
        Assert.Equal(2, Tokenizer.CountTokens(""));
        Assert.Empty(Tokenizer.EncodeToBpeIds(" "));
    }

    [Fact]
    public void Options_override_context_length_and_pad()
    {
        var tokenizer = ClipTokenizer.FromOpenAIBpeFile(TokenizerVectors.BpeFile, new ClipTokenizerOptions { ContextLength = 8, PadTokenId = 49407 });
        Assert.Equal([49406, 320, 1125, 539, 320, 1929, 269, 49407], tokenizer.Encode("a photo of a dog."));
        Assert.Equal([49406, 320, 1929, 49407, 49407, 49407, 49407, 49407], tokenizer.Encode("a dog"));
        Assert.Equal([49406, 320, 1125, 539, 320, 1929, 539, 49407], tokenizer.Encode("a photo of a dog of mine"));
    }

    [Fact]
    public void Decode_gives_the_cleaned_text_back()
    {
        Assert.Equal("a photo of a cat !", Tokenizer.Decode(Tokenizer.Encode("A   Photo of a CAT!")));
        Assert.Equal("straße größe", Tokenizer.Decode(Tokenizer.EncodeToBpeIds("Straße Größe")));

        // HF padding (end token repeated) decodes the same.
        var hfPadded = Tokenizer.Encode("two dogs").Select(id => id == 0 ? 49407 : id);
        Assert.Equal("two dogs", Tokenizer.Decode(hfPadded));

        // A cut inside a character comes back as U+FFFD, like the reference's errors="replace".
        Assert.Equal("\uFFFD", Tokenizer.Decode([6874, 226]));
    }

    [Fact]
    public void Decode_round_trips_every_reference_text_up_to_spacing()
    {
        foreach (TokenizerVector v in TokenizerVectors.Reference)
        {
            string cleaned = ClipTextNormalizer.Instance.Normalize(v.Text);
            Assert.Equal(cleaned.Replace(" ", "", StringComparison.Ordinal), Tokenizer.Decode(v.BpeIds).Replace(" ", "", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Eight_threads_at_once_give_the_same_ids_as_one()
    {
        // A fresh tokenizer, so its word cache fills while the threads race.
        var tokenizer = ClipTokenizer.FromOpenAIBpeFile(TokenizerVectors.BpeFile);
        TokenizerVector[] vectors = [.. TokenizerVectors.Reference, .. TokenizerVectors.Extra];
        int[][] sequential = vectors.Select(v => TokenizerVectors.OpenAI.Encode(v.Text)).ToArray();

        const int Threads = 8;
        using var start = new Barrier(Threads);
        var results = new int[Threads][][];
        var errors = new List<Exception>();
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                var mine = new int[vectors.Length][];
                Span<long> buffer = stackalloc long[77];
                for (int pass = 0; pass < 3; pass++)
                {
                    // Each thread walks the texts from a different place so different words are cached concurrently.
                    for (int k = 0; k < vectors.Length; k++)
                    {
                        int i = (k + t * 37) % vectors.Length;
                        tokenizer.Encode(vectors[i].Text.AsSpan(), buffer);
                        mine[i] = buffer.ToArray().Select(x => (int)x).ToArray();
                    }
                }

                results[t] = mine;
            }
            catch (Exception ex)
            {
                lock (errors)
                {
                    errors.Add(ex);
                }
            }
        })).ToList();

        threads.ForEach(th => th.Start());
        threads.ForEach(th => th.Join());

        Assert.Empty(errors);
        for (int t = 0; t < Threads; t++)
        {
            for (int i = 0; i < vectors.Length; i++)
            {
                Assert.Equal(sequential[i], results[t][i]);
            }
        }
    }
}
