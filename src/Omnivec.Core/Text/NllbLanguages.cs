using System.Text.Json;

namespace Omnivec.Text;

/// <summary>
/// The FLORES-200 language tokens of an NLLB pack: their ids and the pack's default, read from the pack's own files
/// (tokenizer.json's added tokens, else tokenizer_config.json's added_tokens_decoder, else transformers'
/// NllbTokenizer layout: the 202 codes after the SentencePiece vocabulary and the fairseq offset).
/// </summary>
internal static class NllbLanguages
{
    /// <summary>transformers' FAIRSEQ_LANGUAGE_CODES for NLLB-200, in vocabulary order.</summary>
    internal static readonly string[] Flores200 =
    [
        "ace_Arab", "ace_Latn", "acm_Arab", "acq_Arab", "aeb_Arab", "afr_Latn", "ajp_Arab", "aka_Latn", "amh_Ethi", "apc_Arab", "arb_Arab", "ars_Arab", "ary_Arab",
        "arz_Arab", "asm_Beng", "ast_Latn", "awa_Deva", "ayr_Latn", "azb_Arab", "azj_Latn", "bak_Cyrl", "bam_Latn", "ban_Latn", "bel_Cyrl", "bem_Latn", "ben_Beng",
        "bho_Deva", "bjn_Arab", "bjn_Latn", "bod_Tibt", "bos_Latn", "bug_Latn", "bul_Cyrl", "cat_Latn", "ceb_Latn", "ces_Latn", "cjk_Latn", "ckb_Arab", "crh_Latn",
        "cym_Latn", "dan_Latn", "deu_Latn", "dik_Latn", "dyu_Latn", "dzo_Tibt", "ell_Grek", "eng_Latn", "epo_Latn", "est_Latn", "eus_Latn", "ewe_Latn", "fao_Latn",
        "pes_Arab", "fij_Latn", "fin_Latn", "fon_Latn", "fra_Latn", "fur_Latn", "fuv_Latn", "gla_Latn", "gle_Latn", "glg_Latn", "grn_Latn", "guj_Gujr", "hat_Latn",
        "hau_Latn", "heb_Hebr", "hin_Deva", "hne_Deva", "hrv_Latn", "hun_Latn", "hye_Armn", "ibo_Latn", "ilo_Latn", "ind_Latn", "isl_Latn", "ita_Latn", "jav_Latn",
        "jpn_Jpan", "kab_Latn", "kac_Latn", "kam_Latn", "kan_Knda", "kas_Arab", "kas_Deva", "kat_Geor", "knc_Arab", "knc_Latn", "kaz_Cyrl", "kbp_Latn", "kea_Latn",
        "khm_Khmr", "kik_Latn", "kin_Latn", "kir_Cyrl", "kmb_Latn", "kon_Latn", "kor_Hang", "kmr_Latn", "lao_Laoo", "lvs_Latn", "lij_Latn", "lim_Latn", "lin_Latn",
        "lit_Latn", "lmo_Latn", "ltg_Latn", "ltz_Latn", "lua_Latn", "lug_Latn", "luo_Latn", "lus_Latn", "mag_Deva", "mai_Deva", "mal_Mlym", "mar_Deva", "min_Latn",
        "mkd_Cyrl", "plt_Latn", "mlt_Latn", "mni_Beng", "khk_Cyrl", "mos_Latn", "mri_Latn", "zsm_Latn", "mya_Mymr", "nld_Latn", "nno_Latn", "nob_Latn", "npi_Deva",
        "nso_Latn", "nus_Latn", "nya_Latn", "oci_Latn", "gaz_Latn", "ory_Orya", "pag_Latn", "pan_Guru", "pap_Latn", "pol_Latn", "por_Latn", "prs_Arab", "pbt_Arab",
        "quy_Latn", "ron_Latn", "run_Latn", "rus_Cyrl", "sag_Latn", "san_Deva", "sat_Beng", "scn_Latn", "shn_Mymr", "sin_Sinh", "slk_Latn", "slv_Latn", "smo_Latn",
        "sna_Latn", "snd_Arab", "som_Latn", "sot_Latn", "spa_Latn", "als_Latn", "srd_Latn", "srp_Cyrl", "ssw_Latn", "sun_Latn", "swe_Latn", "swh_Latn", "szl_Latn",
        "tam_Taml", "tat_Cyrl", "tel_Telu", "tgk_Cyrl", "tgl_Latn", "tha_Thai", "tir_Ethi", "taq_Latn", "taq_Tfng", "tpi_Latn", "tsn_Latn", "tso_Latn", "tuk_Latn",
        "tum_Latn", "tur_Latn", "twi_Latn", "tzm_Tfng", "uig_Arab", "ukr_Cyrl", "umb_Latn", "urd_Arab", "uzn_Latn", "vec_Latn", "vie_Latn", "war_Latn", "wol_Latn",
        "xho_Latn", "ydd_Hebr", "yor_Latn", "yue_Hant", "zho_Hans", "zho_Hant", "zul_Latn",
    ];

    /// <summary>The pack's languages and their token ids.</summary>
    /// <param name="directory">The folder with the tokenizer files.</param>
    /// <param name="config">tokenizer_config.json (default when absent).</param>
    /// <param name="sentencePieceSize">Pieces in the SentencePiece model (for packs that list no language tokens).</param>
    /// <exception cref="ModelConfigurationException">A file names a default language it has no token for.</exception>
    public static (TextLanguages Languages, Dictionary<string, int> Ids) Read(string directory, JsonElement config, int sentencePieceSize)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        string? templateLanguage = null;
        string tokenizerJson = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(tokenizerJson))
        {
            try
            {
                using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(tokenizerJson));
                JsonElement root = doc.RootElement;
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
                {
                    foreach (JsonElement token in added.EnumerateArray())
                    {
                        if (token.ValueKind == JsonValueKind.Object && token.TryGetProperty("content", out JsonElement c) && c.ValueKind == JsonValueKind.String
                            && TextLanguages.IsCodeShape(c.GetString()) && token.TryGetProperty("id", out JsonElement id) && id.TryGetInt32(out int value) && value >= 0)
                        {
                            ids[c.GetString()!] = value;
                        }
                    }
                }

                templateLanguage = TemplateLanguage(root);
            }
            catch (JsonException ex)
            {
                throw new ModelConfigurationException($"{tokenizerJson} is not valid JSON: {ex.Message}", ex);
            }
        }

        if (ids.Count == 0 && config.ValueKind == JsonValueKind.Object && config.TryGetProperty("added_tokens_decoder", out JsonElement decoder)
            && decoder.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty entry in decoder.EnumerateObject())
            {
                if (int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int value)
                    && entry.Value.ValueKind == JsonValueKind.Object && entry.Value.TryGetProperty("content", out JsonElement c)
                    && c.ValueKind == JsonValueKind.String && TextLanguages.IsCodeShape(c.GetString()))
                {
                    ids[c.GetString()!] = value;
                }
            }
        }

        if (ids.Count == 0)
        {
            // NllbTokenizer's own layout: the codes follow the SentencePiece pieces shifted by the fairseq offset.
            for (int i = 0; i < Flores200.Length; i++)
            {
                ids[Flores200[i]] = sentencePieceSize + 1 + i;
            }
        }

        string? configured = config.ValueKind == JsonValueKind.Object && config.TryGetProperty("src_lang", out JsonElement s) && s.ValueKind == JsonValueKind.String
            ? s.GetString()
            : null;
        if (configured is not null && !ids.ContainsKey(configured))
        {
            throw new ModelConfigurationException($"{directory}: tokenizer_config.json src_lang '{configured}' is not one of the pack's language tokens.");
        }

        string fallback = ids.ContainsKey("eng_Latn") ? "eng_Latn" : ids.OrderBy(p => p.Value).First().Key;
        string defaultCode = configured ?? (templateLanguage is not null && ids.ContainsKey(templateLanguage) ? templateLanguage : fallback);
        return (new TextLanguages(ids.OrderBy(p => p.Value).Select(p => p.Key), defaultCode), ids);
    }

    /// <summary>The language token of tokenizer.json's post-processor template (where NllbTokenizer puts <c>src_lang</c>).</summary>
    private static string? TemplateLanguage(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("post_processor", out JsonElement pp) || pp.ValueKind != JsonValueKind.Object
            || !pp.TryGetProperty("single", out JsonElement single) || single.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (JsonElement item in single.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("SpecialToken", out JsonElement special) && special.ValueKind == JsonValueKind.Object
                && special.TryGetProperty("id", out JsonElement id) && id.ValueKind == JsonValueKind.String && TextLanguages.IsCodeShape(id.GetString()))
            {
                return id.GetString();
            }
        }

        return null;
    }
}
