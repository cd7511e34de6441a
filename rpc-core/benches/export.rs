//! How long the exporter takes for an API of 200 methods, each with its
//! own params and result types (400 structs, plus shared ones): the model,
//! then every target's files. The bar is "well under a second".
//!
//! `cargo bench -p wirecall-core --bench export`

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wirecall_core::export::{ClientOptions, Target, api_model, generate_clients};
use wirecall_core::{Conn, Router, websocket_rpc};

/// A shared unit enum.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Done,
}

/// A shared nested struct.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Item {
    pub name: String,
    pub tags: Vec<String>,
    pub status: Status,
}

/// Declares one method per line, each with its own params and result.
macro_rules! api {
    ($($name:literal => $handler:ident, $params:ident, $result:ident;)*) => {$(
        /// The params.
        #[derive(Deserialize, JsonSchema)]
        pub struct $params {
            /// An id.
            pub id: u64,
            pub title: String,
            pub tags: Vec<String>,
            pub status: Option<Status>,
            #[serde(default)]
            pub limit: u32,
        }

        /// The result.
        #[derive(Serialize, JsonSchema)]
        pub struct $result {
            pub items: Vec<Item>,
            pub total: u64,
            pub at: DateTime<Utc>,
        }

        /// A method of the benchmark API.
        #[websocket_rpc($name)]
        pub async fn $handler(_conn: &Conn, _params: $params) -> $result {
            unimplemented!("never called: only exported")
        }
    )*};
}

api! {
    "bench.group0.method_000" => method_000, Params000, Result000;
    "bench.group0.method_001" => method_001, Params001, Result001;
    "bench.group0.method_002" => method_002, Params002, Result002;
    "bench.group0.method_003" => method_003, Params003, Result003;
    "bench.group0.method_004" => method_004, Params004, Result004;
    "bench.group0.method_005" => method_005, Params005, Result005;
    "bench.group0.method_006" => method_006, Params006, Result006;
    "bench.group0.method_007" => method_007, Params007, Result007;
    "bench.group0.method_008" => method_008, Params008, Result008;
    "bench.group0.method_009" => method_009, Params009, Result009;
    "bench.group1.method_010" => method_010, Params010, Result010;
    "bench.group1.method_011" => method_011, Params011, Result011;
    "bench.group1.method_012" => method_012, Params012, Result012;
    "bench.group1.method_013" => method_013, Params013, Result013;
    "bench.group1.method_014" => method_014, Params014, Result014;
    "bench.group1.method_015" => method_015, Params015, Result015;
    "bench.group1.method_016" => method_016, Params016, Result016;
    "bench.group1.method_017" => method_017, Params017, Result017;
    "bench.group1.method_018" => method_018, Params018, Result018;
    "bench.group1.method_019" => method_019, Params019, Result019;
    "bench.group2.method_020" => method_020, Params020, Result020;
    "bench.group2.method_021" => method_021, Params021, Result021;
    "bench.group2.method_022" => method_022, Params022, Result022;
    "bench.group2.method_023" => method_023, Params023, Result023;
    "bench.group2.method_024" => method_024, Params024, Result024;
    "bench.group2.method_025" => method_025, Params025, Result025;
    "bench.group2.method_026" => method_026, Params026, Result026;
    "bench.group2.method_027" => method_027, Params027, Result027;
    "bench.group2.method_028" => method_028, Params028, Result028;
    "bench.group2.method_029" => method_029, Params029, Result029;
    "bench.group3.method_030" => method_030, Params030, Result030;
    "bench.group3.method_031" => method_031, Params031, Result031;
    "bench.group3.method_032" => method_032, Params032, Result032;
    "bench.group3.method_033" => method_033, Params033, Result033;
    "bench.group3.method_034" => method_034, Params034, Result034;
    "bench.group3.method_035" => method_035, Params035, Result035;
    "bench.group3.method_036" => method_036, Params036, Result036;
    "bench.group3.method_037" => method_037, Params037, Result037;
    "bench.group3.method_038" => method_038, Params038, Result038;
    "bench.group3.method_039" => method_039, Params039, Result039;
    "bench.group4.method_040" => method_040, Params040, Result040;
    "bench.group4.method_041" => method_041, Params041, Result041;
    "bench.group4.method_042" => method_042, Params042, Result042;
    "bench.group4.method_043" => method_043, Params043, Result043;
    "bench.group4.method_044" => method_044, Params044, Result044;
    "bench.group4.method_045" => method_045, Params045, Result045;
    "bench.group4.method_046" => method_046, Params046, Result046;
    "bench.group4.method_047" => method_047, Params047, Result047;
    "bench.group4.method_048" => method_048, Params048, Result048;
    "bench.group4.method_049" => method_049, Params049, Result049;
    "bench.group5.method_050" => method_050, Params050, Result050;
    "bench.group5.method_051" => method_051, Params051, Result051;
    "bench.group5.method_052" => method_052, Params052, Result052;
    "bench.group5.method_053" => method_053, Params053, Result053;
    "bench.group5.method_054" => method_054, Params054, Result054;
    "bench.group5.method_055" => method_055, Params055, Result055;
    "bench.group5.method_056" => method_056, Params056, Result056;
    "bench.group5.method_057" => method_057, Params057, Result057;
    "bench.group5.method_058" => method_058, Params058, Result058;
    "bench.group5.method_059" => method_059, Params059, Result059;
    "bench.group6.method_060" => method_060, Params060, Result060;
    "bench.group6.method_061" => method_061, Params061, Result061;
    "bench.group6.method_062" => method_062, Params062, Result062;
    "bench.group6.method_063" => method_063, Params063, Result063;
    "bench.group6.method_064" => method_064, Params064, Result064;
    "bench.group6.method_065" => method_065, Params065, Result065;
    "bench.group6.method_066" => method_066, Params066, Result066;
    "bench.group6.method_067" => method_067, Params067, Result067;
    "bench.group6.method_068" => method_068, Params068, Result068;
    "bench.group6.method_069" => method_069, Params069, Result069;
    "bench.group7.method_070" => method_070, Params070, Result070;
    "bench.group7.method_071" => method_071, Params071, Result071;
    "bench.group7.method_072" => method_072, Params072, Result072;
    "bench.group7.method_073" => method_073, Params073, Result073;
    "bench.group7.method_074" => method_074, Params074, Result074;
    "bench.group7.method_075" => method_075, Params075, Result075;
    "bench.group7.method_076" => method_076, Params076, Result076;
    "bench.group7.method_077" => method_077, Params077, Result077;
    "bench.group7.method_078" => method_078, Params078, Result078;
    "bench.group7.method_079" => method_079, Params079, Result079;
    "bench.group8.method_080" => method_080, Params080, Result080;
    "bench.group8.method_081" => method_081, Params081, Result081;
    "bench.group8.method_082" => method_082, Params082, Result082;
    "bench.group8.method_083" => method_083, Params083, Result083;
    "bench.group8.method_084" => method_084, Params084, Result084;
    "bench.group8.method_085" => method_085, Params085, Result085;
    "bench.group8.method_086" => method_086, Params086, Result086;
    "bench.group8.method_087" => method_087, Params087, Result087;
    "bench.group8.method_088" => method_088, Params088, Result088;
    "bench.group8.method_089" => method_089, Params089, Result089;
    "bench.group9.method_090" => method_090, Params090, Result090;
    "bench.group9.method_091" => method_091, Params091, Result091;
    "bench.group9.method_092" => method_092, Params092, Result092;
    "bench.group9.method_093" => method_093, Params093, Result093;
    "bench.group9.method_094" => method_094, Params094, Result094;
    "bench.group9.method_095" => method_095, Params095, Result095;
    "bench.group9.method_096" => method_096, Params096, Result096;
    "bench.group9.method_097" => method_097, Params097, Result097;
    "bench.group9.method_098" => method_098, Params098, Result098;
    "bench.group9.method_099" => method_099, Params099, Result099;
    "bench.group10.method_100" => method_100, Params100, Result100;
    "bench.group10.method_101" => method_101, Params101, Result101;
    "bench.group10.method_102" => method_102, Params102, Result102;
    "bench.group10.method_103" => method_103, Params103, Result103;
    "bench.group10.method_104" => method_104, Params104, Result104;
    "bench.group10.method_105" => method_105, Params105, Result105;
    "bench.group10.method_106" => method_106, Params106, Result106;
    "bench.group10.method_107" => method_107, Params107, Result107;
    "bench.group10.method_108" => method_108, Params108, Result108;
    "bench.group10.method_109" => method_109, Params109, Result109;
    "bench.group11.method_110" => method_110, Params110, Result110;
    "bench.group11.method_111" => method_111, Params111, Result111;
    "bench.group11.method_112" => method_112, Params112, Result112;
    "bench.group11.method_113" => method_113, Params113, Result113;
    "bench.group11.method_114" => method_114, Params114, Result114;
    "bench.group11.method_115" => method_115, Params115, Result115;
    "bench.group11.method_116" => method_116, Params116, Result116;
    "bench.group11.method_117" => method_117, Params117, Result117;
    "bench.group11.method_118" => method_118, Params118, Result118;
    "bench.group11.method_119" => method_119, Params119, Result119;
    "bench.group12.method_120" => method_120, Params120, Result120;
    "bench.group12.method_121" => method_121, Params121, Result121;
    "bench.group12.method_122" => method_122, Params122, Result122;
    "bench.group12.method_123" => method_123, Params123, Result123;
    "bench.group12.method_124" => method_124, Params124, Result124;
    "bench.group12.method_125" => method_125, Params125, Result125;
    "bench.group12.method_126" => method_126, Params126, Result126;
    "bench.group12.method_127" => method_127, Params127, Result127;
    "bench.group12.method_128" => method_128, Params128, Result128;
    "bench.group12.method_129" => method_129, Params129, Result129;
    "bench.group13.method_130" => method_130, Params130, Result130;
    "bench.group13.method_131" => method_131, Params131, Result131;
    "bench.group13.method_132" => method_132, Params132, Result132;
    "bench.group13.method_133" => method_133, Params133, Result133;
    "bench.group13.method_134" => method_134, Params134, Result134;
    "bench.group13.method_135" => method_135, Params135, Result135;
    "bench.group13.method_136" => method_136, Params136, Result136;
    "bench.group13.method_137" => method_137, Params137, Result137;
    "bench.group13.method_138" => method_138, Params138, Result138;
    "bench.group13.method_139" => method_139, Params139, Result139;
    "bench.group14.method_140" => method_140, Params140, Result140;
    "bench.group14.method_141" => method_141, Params141, Result141;
    "bench.group14.method_142" => method_142, Params142, Result142;
    "bench.group14.method_143" => method_143, Params143, Result143;
    "bench.group14.method_144" => method_144, Params144, Result144;
    "bench.group14.method_145" => method_145, Params145, Result145;
    "bench.group14.method_146" => method_146, Params146, Result146;
    "bench.group14.method_147" => method_147, Params147, Result147;
    "bench.group14.method_148" => method_148, Params148, Result148;
    "bench.group14.method_149" => method_149, Params149, Result149;
    "bench.group15.method_150" => method_150, Params150, Result150;
    "bench.group15.method_151" => method_151, Params151, Result151;
    "bench.group15.method_152" => method_152, Params152, Result152;
    "bench.group15.method_153" => method_153, Params153, Result153;
    "bench.group15.method_154" => method_154, Params154, Result154;
    "bench.group15.method_155" => method_155, Params155, Result155;
    "bench.group15.method_156" => method_156, Params156, Result156;
    "bench.group15.method_157" => method_157, Params157, Result157;
    "bench.group15.method_158" => method_158, Params158, Result158;
    "bench.group15.method_159" => method_159, Params159, Result159;
    "bench.group16.method_160" => method_160, Params160, Result160;
    "bench.group16.method_161" => method_161, Params161, Result161;
    "bench.group16.method_162" => method_162, Params162, Result162;
    "bench.group16.method_163" => method_163, Params163, Result163;
    "bench.group16.method_164" => method_164, Params164, Result164;
    "bench.group16.method_165" => method_165, Params165, Result165;
    "bench.group16.method_166" => method_166, Params166, Result166;
    "bench.group16.method_167" => method_167, Params167, Result167;
    "bench.group16.method_168" => method_168, Params168, Result168;
    "bench.group16.method_169" => method_169, Params169, Result169;
    "bench.group17.method_170" => method_170, Params170, Result170;
    "bench.group17.method_171" => method_171, Params171, Result171;
    "bench.group17.method_172" => method_172, Params172, Result172;
    "bench.group17.method_173" => method_173, Params173, Result173;
    "bench.group17.method_174" => method_174, Params174, Result174;
    "bench.group17.method_175" => method_175, Params175, Result175;
    "bench.group17.method_176" => method_176, Params176, Result176;
    "bench.group17.method_177" => method_177, Params177, Result177;
    "bench.group17.method_178" => method_178, Params178, Result178;
    "bench.group17.method_179" => method_179, Params179, Result179;
    "bench.group18.method_180" => method_180, Params180, Result180;
    "bench.group18.method_181" => method_181, Params181, Result181;
    "bench.group18.method_182" => method_182, Params182, Result182;
    "bench.group18.method_183" => method_183, Params183, Result183;
    "bench.group18.method_184" => method_184, Params184, Result184;
    "bench.group18.method_185" => method_185, Params185, Result185;
    "bench.group18.method_186" => method_186, Params186, Result186;
    "bench.group18.method_187" => method_187, Params187, Result187;
    "bench.group18.method_188" => method_188, Params188, Result188;
    "bench.group18.method_189" => method_189, Params189, Result189;
    "bench.group19.method_190" => method_190, Params190, Result190;
    "bench.group19.method_191" => method_191, Params191, Result191;
    "bench.group19.method_192" => method_192, Params192, Result192;
    "bench.group19.method_193" => method_193, Params193, Result193;
    "bench.group19.method_194" => method_194, Params194, Result194;
    "bench.group19.method_195" => method_195, Params195, Result195;
    "bench.group19.method_196" => method_196, Params196, Result196;
    "bench.group19.method_197" => method_197, Params197, Result197;
    "bench.group19.method_198" => method_198, Params198, Result198;
    "bench.group19.method_199" => method_199, Params199, Result199;
}

fn export(c: &mut Criterion) {
    let router = Router::global().unwrap();
    assert_eq!(router.len(), 200);
    let options = ClientOptions::named("bench-client");
    c.bench_function("export 200 methods: model", |b| {
        b.iter(|| api_model(&router).unwrap())
    });
    c.bench_function("export 200 methods: model + all targets' files", |b| {
        b.iter(|| generate_clients(&router, &Target::ALL, &options).unwrap())
    });
}

criterion_group!(benches, export);
criterion_main!(benches);
