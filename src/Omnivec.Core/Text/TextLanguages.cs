using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace Omnivec.Text;

/// <summary>
/// The query languages a text tower is told about (NLLB-CLIP: a FLORES-200 code such as <c>deu_Latn</c> in front of
/// the text). Found through <c>GetService(typeof(TextLanguages))</c> on generators whose model takes a language;
/// models that read any language without being told (CLIP, SigLIP, M-CLIP) have none.
/// </summary>
/// <remarks>
/// A text given to such a model may begin with one of its codes, glued to the text as Immich sends it
/// (<c>deu_Latnein Hund am Strand</c>): the tokenizer then puts that code where the pack's default would go.
/// <see cref="Apply(string, string?)"/> writes that form from a friendly language name.
/// </remarks>
public sealed partial class TextLanguages
{
    // ISO 639-1 (and a few 639-3 and BCP 47) names mapped to FLORES-200 codes; a name whose code the pack lacks is refused.
    private static readonly FrozenDictionary<string, string> s_friendly = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["af"] = "afr_Latn", ["am"] = "amh_Ethi", ["ar"] = "arb_Arab", ["as"] = "asm_Beng", ["az"] = "azj_Latn", ["ba"] = "bak_Cyrl",
        ["be"] = "bel_Cyrl", ["bg"] = "bul_Cyrl", ["bn"] = "ben_Beng", ["bo"] = "bod_Tibt", ["bs"] = "bos_Latn", ["ca"] = "cat_Latn",
        ["cs"] = "ces_Latn", ["cy"] = "cym_Latn", ["da"] = "dan_Latn", ["de"] = "deu_Latn", ["dz"] = "dzo_Tibt", ["el"] = "ell_Grek",
        ["en"] = "eng_Latn", ["eo"] = "epo_Latn", ["es"] = "spa_Latn", ["et"] = "est_Latn", ["eu"] = "eus_Latn", ["fa"] = "pes_Arab",
        ["fi"] = "fin_Latn", ["fj"] = "fij_Latn", ["fo"] = "fao_Latn", ["fr"] = "fra_Latn", ["ga"] = "gle_Latn", ["gd"] = "gla_Latn",
        ["gl"] = "glg_Latn", ["gn"] = "grn_Latn", ["gu"] = "guj_Gujr", ["ha"] = "hau_Latn", ["he"] = "heb_Hebr", ["hi"] = "hin_Deva",
        ["hr"] = "hrv_Latn", ["ht"] = "hat_Latn", ["hu"] = "hun_Latn", ["hy"] = "hye_Armn", ["id"] = "ind_Latn", ["ig"] = "ibo_Latn",
        ["is"] = "isl_Latn", ["it"] = "ita_Latn", ["ja"] = "jpn_Jpan", ["jv"] = "jav_Latn", ["ka"] = "kat_Geor", ["kk"] = "kaz_Cyrl",
        ["km"] = "khm_Khmr", ["kn"] = "kan_Knda", ["ko"] = "kor_Hang", ["ku"] = "kmr_Latn", ["ky"] = "kir_Cyrl", ["lb"] = "ltz_Latn",
        ["lg"] = "lug_Latn", ["li"] = "lim_Latn", ["ln"] = "lin_Latn", ["lo"] = "lao_Laoo", ["lt"] = "lit_Latn", ["lv"] = "lvs_Latn",
        ["mg"] = "plt_Latn", ["mi"] = "mri_Latn", ["mk"] = "mkd_Cyrl", ["ml"] = "mal_Mlym", ["mn"] = "khk_Cyrl", ["mr"] = "mar_Deva",
        ["ms"] = "zsm_Latn", ["mt"] = "mlt_Latn", ["my"] = "mya_Mymr", ["nb"] = "nob_Latn", ["ne"] = "npi_Deva", ["nl"] = "nld_Latn",
        ["nn"] = "nno_Latn", ["no"] = "nob_Latn", ["ny"] = "nya_Latn", ["oc"] = "oci_Latn", ["om"] = "gaz_Latn", ["or"] = "ory_Orya",
        ["pa"] = "pan_Guru", ["pl"] = "pol_Latn", ["ps"] = "pbt_Arab", ["pt"] = "por_Latn", ["qu"] = "quy_Latn", ["ro"] = "ron_Latn",
        ["ru"] = "rus_Cyrl", ["rw"] = "kin_Latn", ["sa"] = "san_Deva", ["sc"] = "srd_Latn", ["sd"] = "snd_Arab", ["si"] = "sin_Sinh",
        ["sk"] = "slk_Latn", ["sl"] = "slv_Latn", ["sm"] = "smo_Latn", ["sn"] = "sna_Latn", ["so"] = "som_Latn", ["sq"] = "als_Latn",
        ["sr"] = "srp_Cyrl", ["ss"] = "ssw_Latn", ["st"] = "sot_Latn", ["su"] = "sun_Latn", ["sv"] = "swe_Latn", ["sw"] = "swh_Latn",
        ["ta"] = "tam_Taml", ["te"] = "tel_Telu", ["tg"] = "tgk_Cyrl", ["th"] = "tha_Thai", ["ti"] = "tir_Ethi", ["tk"] = "tuk_Latn",
        ["tl"] = "tgl_Latn", ["fil"] = "tgl_Latn", ["tn"] = "tsn_Latn", ["tr"] = "tur_Latn", ["ts"] = "tso_Latn", ["tt"] = "tat_Cyrl",
        ["ug"] = "uig_Arab", ["uk"] = "ukr_Cyrl", ["ur"] = "urd_Arab", ["uz"] = "uzn_Latn", ["vi"] = "vie_Latn", ["wo"] = "wol_Latn",
        ["xh"] = "xho_Latn", ["yi"] = "ydd_Hebr", ["yo"] = "yor_Latn", ["zu"] = "zul_Latn", ["yue"] = "yue_Hant",
        ["zh"] = "zho_Hans", ["zh-hans"] = "zho_Hans", ["zh-cn"] = "zho_Hans", ["zh-sg"] = "zho_Hans", ["zh-my"] = "zho_Hans",
        ["zh-hant"] = "zho_Hant", ["zh-tw"] = "zho_Hant", ["zh-hk"] = "zho_Hant", ["zh-mo"] = "zho_Hant",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private readonly FrozenDictionary<string, string> _codes;

    /// <summary>Languages a pack knows by their codes, and the one used when a text names none.</summary>
    /// <param name="codes">The codes (FLORES-200: three lower-case letters, '_', a four-letter script).</param>
    /// <param name="defaultCode">One of <paramref name="codes"/>.</param>
    /// <exception cref="ArgumentException">No codes, or a default that is not one of them.</exception>
    public TextLanguages(IEnumerable<string> codes, string defaultCode)
    {
        ArgumentNullException.ThrowIfNull(codes);
        ArgumentException.ThrowIfNullOrEmpty(defaultCode);
        Codes = codes.Distinct(StringComparer.Ordinal).ToArray();
        if (Codes.Count == 0)
        {
            throw new ArgumentException("At least one language code is needed.", nameof(codes));
        }

        _codes = Codes.ToFrozenDictionary(c => c, c => c, StringComparer.OrdinalIgnoreCase);
        Default = _codes.TryGetValue(defaultCode, out string? d) ? d : throw new ArgumentException($"'{defaultCode}' is not one of the codes.", nameof(defaultCode));
    }

    /// <summary>Every code the pack knows, in the pack's order.</summary>
    public IReadOnlyList<string> Codes { get; }

    /// <summary>The code a text without one is read in (the pack's own <c>src_lang</c>, else <c>eng_Latn</c>).</summary>
    public string Default { get; }

    /// <summary>Whether <paramref name="code"/> is exactly one of <see cref="Codes"/> (case-sensitive, as the tokenizer sees it).</summary>
    public bool Contains(string code) => _codes.TryGetValue(code, out string? c) && c == code;

    /// <summary>
    /// The pack's code for a language given as a FLORES-200 code (<c>deu_Latn</c>, any case), its three-letter part when
    /// only one script is known (<c>deu</c>), or an ISO 639-1 / BCP 47 name (<c>de</c>, <c>de-CH</c>, <c>zh-TW</c>, <c>pt_BR</c>).
    /// </summary>
    /// <exception cref="UnknownLanguageException">The pack knows no such language.</exception>
    public string Resolve(string language) =>
        TryResolve(language, out string code) ? code : throw new UnknownLanguageException(language, this);

    /// <summary>Like <see cref="Resolve(string)"/>, without throwing.</summary>
    public bool TryResolve(string? language, out string code)
    {
        code = "";
        string name = (language ?? "").Trim();
        if (name.Length == 0 || name.Length > 32)
        {
            return false;
        }

        if (_codes.TryGetValue(name, out string? exact))
        {
            code = exact;
            return true;
        }

        string bcp = name.Replace('_', '-');
        string[] parts = bcp.Split('-');
        foreach (string candidate in new[] { bcp, parts.Length > 1 ? parts[0] + "-" + parts[1] : parts[0], parts[0] })
        {
            if (s_friendly.TryGetValue(candidate, out string? mapped) && _codes.TryGetValue(mapped, out string? known))
            {
                code = known;
                return true;
            }
        }

        if (parts.Length == 1 && name.Length == 3)
        {
            string[] scripts = Codes.Where(c => c.StartsWith(name + "_", StringComparison.OrdinalIgnoreCase)).ToArray();
            if (scripts.Length == 1)
            {
                code = scripts[0];
                return true;
            }
        }

        return false;
    }

    /// <summary>The text in the form the model's tokenizer reads in <paramref name="language"/>: its code glued in front; the text itself when no language is given.</summary>
    /// <exception cref="UnknownLanguageException">The pack knows no such language.</exception>
    public string Apply(string text, string? language)
    {
        ArgumentNullException.ThrowIfNull(text);
        return string.IsNullOrWhiteSpace(language) ? text : Resolve(language) + text;
    }

    /// <summary>Splits a leading code off <paramref name="text"/>: the code (or <see cref="Default"/>) and the rest.</summary>
    internal (string Code, int Start) Split(ReadOnlySpan<char> text)
    {
        if (text.Length >= 8 && IsCodeShape(text[..8]) && _codes.TryGetValue(text[..8].ToString(), out string? code) && code.AsSpan().SequenceEqual(text[..8]))
        {
            return (code, 8);
        }

        return (Default, 0);
    }

    /// <summary>Whether <paramref name="token"/> looks like a FLORES-200 code (<c>xxx_Xxxx</c>).</summary>
    internal static bool IsCodeShape(ReadOnlySpan<char> token) => token.Length == 8 && CodeShape().IsMatch(token);

    [GeneratedRegex("^[a-z]{3}_[A-Z][a-z]{3}$")]
    private static partial Regex CodeShape();
}

/// <summary>A query language the model does not know (the message says which forms it takes and a few of its codes).</summary>
public sealed class UnknownLanguageException : InvalidInputException
{
    /// <summary>Creates the error for <paramref name="language"/>, which <paramref name="known"/> cannot resolve.</summary>
    public UnknownLanguageException(string? language, TextLanguages known)
        : base($"Language '{language}' is not one this model knows: give a FLORES-200 code such as deu_Latn, or a language code such as de or zh-TW " +
               $"({known?.Codes.Count ?? 0} languages, default {known?.Default}: {string.Join(", ", (known?.Codes ?? []).Take(8))}, …).")
    {
        Language = language;
    }

    /// <summary>The language as given.</summary>
    public string? Language { get; }
}
