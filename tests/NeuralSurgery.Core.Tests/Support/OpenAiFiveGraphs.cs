using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using NeuralSurgery.Graph;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Tests.Support;

/// <summary>
/// Sizes of an OpenAI-Five-shaped policy (paper 001 section 3, DESIGN.md section 10).
/// </summary>
/// <param name="HeroFeatures">Slots of the <c>hero</c> input in version 1.</param>
/// <param name="ExtraHeroFeatures">Slots of the group that version 2 adds (paper 001 section 3: 12).</param>
/// <param name="UnitFeatures">Slots per unit of the <c>allies</c> and of the <c>enemies</c> input.</param>
/// <param name="UnitTypes">Vocabulary of the <c>unit_type</c> categorical input (one per allied unit).</param>
/// <param name="HeroVocabulary">Vocabulary of the <c>hero_id</c> categorical input.</param>
/// <param name="Encoder">Width of the hero, ally and enemy encoders.</param>
/// <param name="Lstm">Width of the core Linear and hidden size of the LSTM.</param>
/// <param name="HeadSizes">Widths of the heads, in the order of <see cref="OpenAiFiveGraphs.HeadNames"/>.</param>
/// <param name="HeroEmbedding">Width of the hero id embedding.</param>
/// <param name="UnitTypeEmbedding">Width of the unit type embedding concatenated to each ally.</param>
/// <param name="ExtraEncoder">Width of the encoder of the separate <c>hero_extra</c> input (<see cref="OpenAiFiveGraphs.BuildWithNewGroup"/>).</param>
public sealed record FiveConfig(
    int HeroFeatures,
    int ExtraHeroFeatures,
    int UnitFeatures,
    int UnitTypes,
    int HeroVocabulary,
    int Encoder,
    int Lstm,
    IReadOnlyList<int> HeadSizes,
    int HeroEmbedding,
    int UnitTypeEmbedding,
    int ExtraEncoder);

/// <summary>
/// Graphs shaped like OpenAI Five's policy, with matching feature schemas:
/// <code>
/// hero [B, H]          -> hero_encoder (Linear+ReLU)                         -> [B, E]
/// hero_id [B]          -> hero_embedding                                     -> [B, De]
/// allies [B, N, U] ++ unit_type_embedding(unit_type [B, N]) -> ally_encoder (Linear+ReLU) -> max over N -> [B, E]
/// enemies [B, M, U]    -> enemy_encoder (Linear+ReLU) -> max over M          -> [B, E]
/// concat [hero, hero_id, allies, enemies] -> core (Linear+ReLU) -> unsqueeze(0) -> lstm (h0, c0) -> squeeze(0)
///   -> heads (Linear each): action_type, move_x, move_y, delay, target_unit, ...; outputs h_n, c_n as states
/// </code>
/// Version 2 appends <see cref="FiveConfig.ExtraHeroFeatures"/> features to <c>hero</c> (paper 001 section 3);
/// <see cref="BuildWithNewGroup"/> instead reads them from a new input <c>hero_extra</c> with its own encoder,
/// whose output is appended to the concat.
/// </summary>
public static class OpenAiFiveGraphs
{
    /// <summary>Head names in order; a config uses the first <c>HeadSizes.Count</c>.</summary>
    public static IReadOnlyList<string> HeadNames { get; } = ["action_type", "move_x", "move_y", "delay", "target_unit", "ability_level"];

    /// <summary>A few units of everything: for the reference tracer.</summary>
    public static FiveConfig Small { get; } = new(
        HeroFeatures: 10,
        ExtraHeroFeatures: 12,
        UnitFeatures: 6,
        UnitTypes: 4,
        HeroVocabulary: 5,
        Encoder: 8,
        Lstm: 8,
        HeadSizes: [5, 3, 3],
        HeroEmbedding: 4,
        UnitTypeEmbedding: 2,
        ExtraEncoder: 4);

    public static FiveConfig Medium { get; } = new(
        HeroFeatures: 256,
        ExtraHeroFeatures: 12,
        UnitFeatures: 64,
        UnitTypes: 32,
        HeroVocabulary: 32,
        Encoder: 128,
        Lstm: 512,
        HeadSizes: [16, 9, 9, 4, 32],
        HeroEmbedding: 32,
        UnitTypeEmbedding: 16,
        ExtraEncoder: 32);

    /// <summary>About OpenAI Five's size: LSTM 4096, about 160M parameters, several thousand feature slots.</summary>
    public static FiveConfig Large { get; } = new(
        HeroFeatures: 2000,
        ExtraHeroFeatures: 12,
        UnitFeatures: 512,
        UnitTypes: 256,
        HeroVocabulary: 128,
        Encoder: 1536,
        Lstm: 4096,
        HeadSizes: [30, 9, 9, 4, 64, 4],
        HeroEmbedding: 256,
        UnitTypeEmbedding: 64,
        ExtraEncoder: 256);

    public static IReadOnlyList<(string Name, FiveConfig Config)> Configs { get; } =
        [("Small", Small), ("Medium", Medium), ("Large", Large)];

    /// <summary>
    /// Version 1 (hero without the extra group) or 2 (extra group appended to <c>hero</c>). The schema is
    /// generated to match and read with <see cref="FeatureSchemaReader.ParseOrThrow"/>.
    /// </summary>
    public static (ModelGraph Graph, FeatureSchema Schema) Build(FiveConfig c, int version) => BuildCore(c, version, newGroup: false);

    /// <summary>Version 2 where the extra group is a new input <c>hero_extra</c> with its own encoder.</summary>
    public static (ModelGraph Graph, FeatureSchema Schema) BuildWithNewGroup(FiveConfig c) => BuildCore(c, 2, newGroup: true);

    /// <summary>The schema YAML that <see cref="Build"/> parses.</summary>
    public static string SchemaYaml(FiveConfig c, int version, bool newGroup = false)
    {
        CheckVersion(version, newGroup);
        var sb = new StringBuilder();
        sb.Append("model: OpenAiFive\n");
        sb.Append("version: ").Append(Str(version)).Append('\n');
        sb.Append("inputs:\n");
        var hero = HeroFeatureList(c.HeroFeatures);
        if (version >= 2 && !newGroup)
        {
            hero.AddRange(ExtraFeatureList(c.ExtraHeroFeatures));
        }

        AppendFeatures(sb, "hero", set: false, hero);
        if (version >= 2 && newGroup)
        {
            AppendFeatures(sb, "hero_extra", set: false, ExtraFeatureList(c.ExtraHeroFeatures));
        }

        AppendCategorical(sb, "hero_id", set: false, Vocabulary(HeroNames, "hero", c.HeroVocabulary));
        AppendFeatures(sb, "allies", set: true, UnitFeatureList(c.UnitFeatures));
        AppendCategorical(sb, "unit_type", set: true, Vocabulary(UnitTypeNames, "unit", c.UnitTypes));
        AppendFeatures(sb, "enemies", set: true, UnitFeatureList(c.UnitFeatures));
        sb.Append("outputs:\n");
        for (var i = 0; i < c.HeadSizes.Count; i++)
        {
            var name = HeadName(i);
            var features = name == "action_type"
                ? Vocabulary(ActionNames, "action", c.HeadSizes[i])
                : Enumerable.Range(0, c.HeadSizes[i]).Select(k => HeadPrefix(name) + Str(k)).ToList();
            sb.Append("  ").Append(name).Append(":\n    features: [").Append(string.Join(", ", features)).Append("]\n");
        }

        return sb.ToString();
    }

    /// <summary>Parameter elements (no buffers; the graph has none) of a built graph, computed from the config.</summary>
    /// <remarks>
    /// With E = Encoder, H = hero width (HeroFeatures, + ExtraHeroFeatures appended in v2), U = UnitFeatures,
    /// L = Lstm, W = concat width = 3E + HeroEmbedding (+ ExtraEncoder with the new group):
    /// hero_encoder E(H+1); ally_encoder E(U+UnitTypeEmbedding+1); enemy_encoder E(U+1);
    /// hero_embedding HeroVocabulary·HeroEmbedding; unit_type_embedding UnitTypes·UnitTypeEmbedding;
    /// [hero_extra_encoder X(ExtraHeroFeatures+1)]; core L(W+1); lstm 4L·L + 4L·L + 2·4L; heads Σ h(L+1).
    /// </remarks>
    public static long ParameterCount(FiveConfig c, int version, bool newGroup = false)
    {
        CheckVersion(version, newGroup);
        long e = c.Encoder, l = c.Lstm;
        long h = c.HeroFeatures + (version >= 2 && !newGroup ? c.ExtraHeroFeatures : 0);
        var concat = (3 * e) + c.HeroEmbedding + (newGroup ? c.ExtraEncoder : 0);
        var total = (e * (h + 1))
            + ((long)c.HeroVocabulary * c.HeroEmbedding)
            + ((long)c.UnitTypes * c.UnitTypeEmbedding)
            + (e * (c.UnitFeatures + c.UnitTypeEmbedding + 1))
            + (e * (c.UnitFeatures + 1))
            + (l * (concat + 1))
            + (8 * l * l) + (8 * l)
            + c.HeadSizes.Sum(s => s * (l + 1));
        if (newGroup)
        {
            total += (long)c.ExtraEncoder * (c.ExtraHeroFeatures + 1);
        }

        return total;
    }

    /// <summary>Feature slots of the schema: hero (+ extra), hero vocabulary, allies, unit types, enemies.</summary>
    public static int SlotCount(FiveConfig c, int version) =>
        c.HeroFeatures + (version >= 2 ? c.ExtraHeroFeatures : 0) + c.HeroVocabulary + (2 * c.UnitFeatures) + c.UnitTypes;

    /// <summary>
    /// Elements of the v2 model (extra group appended to <c>hero</c>) copied from v1 by a correct surgery. Only
    /// <c>hero_encoder.weight</c> changes shape, and only its columns of the new features have no source: every
    /// other element keeps its keys (feature slots, unit identities, gate blocks, head features). So the result
    /// is <c>ParameterCount(v2) - Encoder·ExtraHeroFeatures</c>, which equals <c>ParameterCount(v1)</c>.
    /// </summary>
    public static long ExpectedTransferredElements(FiveConfig c) => ParameterCount(c, 2) - ExpectedNewElements(c);

    /// <summary>Elements of v2 that a v1 → v2 surgery initialises: <c>Encoder·ExtraHeroFeatures</c> (zero columns).</summary>
    public static long ExpectedNewElements(FiveConfig c) => (long)c.Encoder * c.ExtraHeroFeatures;

    /// <summary>
    /// Elements of the new-group v2 model copied from v1: everything of v1 (<c>ParameterCount(v1)</c>). New are the
    /// whole <c>hero_extra_encoder</c> (<c>X(ExtraHeroFeatures+1)</c>) and the <c>X</c> columns of <c>core.weight</c>
    /// fed by it (<c>Lstm·X</c>), with X = ExtraEncoder.
    /// </summary>
    public static long ExpectedTransferredElementsWithNewGroup(FiveConfig c) => ParameterCount(c, 2, newGroup: true) - ExpectedNewElementsWithNewGroup(c);

    public static long ExpectedNewElementsWithNewGroup(FiveConfig c) =>
        ((long)c.ExtraEncoder * (c.ExtraHeroFeatures + 1)) + ((long)c.Lstm * c.ExtraEncoder);

    private static (ModelGraph Graph, FeatureSchema Schema) BuildCore(FiveConfig c, int version, bool newGroup)
    {
        CheckVersion(version, newGroup);
        var yaml = SchemaYaml(c, version, newGroup);
        var schema = FeatureSchemaReader.ParseOrThrow(yaml, "openai_five.v" + Str(version) + (newGroup ? ".group" : string.Empty) + ".features.yaml");

        var b = new GraphBuilder("OpenAiFive");
        var batch = Dim.Batch;
        var n = Dim.Symbol("N");
        var m = Dim.Symbol("M");
        var heroWidth = c.HeroFeatures + (version >= 2 && !newGroup ? c.ExtraHeroFeatures : 0);

        var hero = b.FeatureInput("hero", batch, heroWidth);
        var heroExtra = version >= 2 && newGroup ? b.FeatureInput("hero_extra", batch, c.ExtraHeroFeatures) : (GraphValue?)null;
        var heroId = b.CategoricalInput("hero_id", batch);
        var allies = b.FeatureInput("allies", batch, n, c.UnitFeatures);
        var unitType = b.CategoricalInput("unit_type", batch, n);
        var enemies = b.FeatureInput("enemies", batch, m, c.UnitFeatures);
        var h0 = b.StateInput("h0", 1, batch, c.Lstm);
        var c0 = b.StateInput("c0", 1, batch, c.Lstm);

        var heroEnc = b.Relu(b.Linear("hero_encoder", hero, c.Encoder));
        var heroEmb = b.Embedding("hero_embedding", heroId, c.HeroVocabulary, c.HeroEmbedding);
        var typeEmb = b.Embedding("unit_type_embedding", unitType, c.UnitTypes, c.UnitTypeEmbedding);
        var allyUnits = b.Relu(b.Linear("ally_encoder", b.Concat(-1, allies, typeEmb), c.Encoder));
        var allyPool = b.Max(allyUnits, 1);
        var enemyUnits = b.Relu(b.Linear("enemy_encoder", enemies, c.Encoder));
        var enemyPool = b.Max(enemyUnits, 1);
        var parts = new List<GraphValue> { heroEnc, heroEmb, allyPool, enemyPool };
        if (heroExtra is { } extra)
        {
            parts.Add(b.Relu(b.Linear("hero_extra_encoder", extra, c.ExtraEncoder)));
        }

        var core = b.Relu(b.Linear("core", b.Concat(-1, parts.ToArray()), c.Lstm));
        var (seq, hn, cn) = b.Lstm("lstm", b.Unsqueeze(core, 0), c.Lstm, h0: h0, c0: c0);
        var state = b.Squeeze(seq, 0);
        for (var i = 0; i < c.HeadSizes.Count; i++)
        {
            var name = HeadName(i);
            b.Output(name, b.Linear("heads." + name, state, c.HeadSizes[i]));
        }

        b.StateOutput("h_n", hn);
        b.StateOutput("c_n", cn);
        return (b.Build(), schema);
    }

    private static void CheckVersion(int version, bool newGroup)
    {
        if (version is not (1 or 2))
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, "version is 1 or 2");
        }

        if (newGroup && version != 2)
        {
            throw new ArgumentException("the new-group variant is a version 2 model", nameof(newGroup));
        }
    }

    private static string HeadName(int i) =>
        i < HeadNames.Count ? HeadNames[i] : throw new ArgumentException($"at most {HeadNames.Count} heads are named");

    private static string HeadPrefix(string head) => head switch
    {
        "move_x" => "dx_",
        "move_y" => "dy_",
        "delay" => "wait_",
        "target_unit" => "unit_",
        _ => head + "_",
    };

    private static readonly (string Name, int Width)[] HeroNamed =
    [
        ("max_health", 1), ("health", 1), ("max_mana", 1), ("mana", 1), ("attack_damage", 1), ("armor", 1),
        ("position", 2), ("facing", 2), ("level", 1), ("is_alive", 1), ("move_speed", 1), ("attack_range", 1),
    ];

    private static readonly (string Name, int Width)[] UnitNamed =
    [
        ("health", 1), ("max_health", 1), ("position", 2), ("distance", 1), ("is_visible", 1), ("attack_damage", 1),
        ("armor", 1), ("is_attacking_me", 1),
    ];

    private static readonly string[] ExtraNamed =
    [
        "buyback_cost", "buyback_cooldown", "respawn_time", "gold", "net_worth", "last_hits",
        "denies", "kills", "deaths", "assists", "xp_to_next_level", "ward_stock",
    ];

    private static readonly string[] HeroNames =
    [
        "axe", "bane", "crystal_maiden", "death_prophet", "earthshaker", "gyrocopter", "lich", "lion", "necrophos",
        "queen_of_pain", "razor", "riki", "shadow_fiend", "slark", "sniper", "sven", "tidehunter", "viper", "witch_doctor",
    ];

    private static readonly string[] UnitTypeNames =
    [
        "creep_melee", "creep_ranged", "creep_siege", "tower", "barracks", "ancient", "courier", "ward_observer",
        "ward_sentry", "neutral", "roshan", "hero",
    ];

    private static readonly string[] ActionNames =
    [
        "noop", "move", "attack", "cast_q", "cast_w", "cast_e", "cast_r", "use_item_1", "use_item_2", "use_item_3",
        "use_item_4", "use_item_5", "use_item_6", "buyback", "glyph", "pick_up_rune", "purchase", "courier_deliver",
    ];

    private static List<(string Name, int Width)> HeroFeatureList(int slots) => Fill(HeroNamed, "hero_f", slots);

    private static List<(string Name, int Width)> UnitFeatureList(int slots) => Fill(UnitNamed, "unit_f", slots);

    private static List<(string Name, int Width)> ExtraFeatureList(int slots) =>
        Enumerable.Range(0, slots).Select(k => (k < ExtraNamed.Length ? ExtraNamed[k] : "extra_f" + Str(k), 1)).ToList();

    /// <summary>Named features while they fit, then <c>prefix{slot}</c> features of width 1 up to <paramref name="slots"/>.</summary>
    private static List<(string Name, int Width)> Fill((string Name, int Width)[] named, string prefix, int slots)
    {
        var list = new List<(string Name, int Width)>();
        var used = 0;
        foreach (var f in named)
        {
            if (used + f.Width > slots)
            {
                break;
            }

            list.Add(f);
            used += f.Width;
        }

        for (; used < slots; used++)
        {
            list.Add((prefix + Str(used), 1));
        }

        return list;
    }

    private static List<string> Vocabulary(string[] named, string prefix, int count) =>
        Enumerable.Range(0, count).Select(k => k < named.Length ? named[k] : prefix + "_" + Str(k)).ToList();

    private static void AppendFeatures(StringBuilder sb, string name, bool set, List<(string Name, int Width)> features)
    {
        sb.Append("  ").Append(name).Append(":\n");
        if (set)
        {
            sb.Append("    set: true\n");
        }

        sb.Append("    features: [");
        for (var i = 0; i < features.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            var (n, w) = features[i];
            if (w == 1)
            {
                sb.Append(n);
            }
            else
            {
                sb.Append("{ name: ").Append(n).Append(", width: ").Append(Str(w)).Append(" }");
            }
        }

        sb.Append("]\n");
    }

    private static void AppendCategorical(StringBuilder sb, string name, bool set, List<string> values)
    {
        sb.Append("  ").Append(name).Append(":\n");
        if (set)
        {
            sb.Append("    set: true\n");
        }

        sb.Append("    categorical: [").Append(string.Join(", ", values)).Append("]\n");
    }

    private static string Str(int v) => v.ToString(CultureInfo.InvariantCulture);
}
