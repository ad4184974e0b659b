mod common;
use common::*;
use std::time::Instant;
use tocsin_core::{Area, Entity};

#[test]
#[ignore]
fn perf() {
    let n = 200_000usize;
    let words = ["Crocus","City","Hall","Arena","Stadium","Grand","Teatr","Park","Club","Palace","Sports","Opera","Central","North","South","Music"];
    let cats = ["venue/entertainment/concert_hall","venue/sports/stadium","place_of_worship/synagogue","event/concert","venue/shopping/mall","organisation/media"];
    let mut x: u64 = 42;
    let mut rnd = || { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x };
    let t0 = Instant::now();
    let mut r = registry(&[]);
    for i in 0..n {
        let a = rnd(); let b = rnd(); let c = rnd();
        let name = format!("{} {} {}{}", words[(a % 16) as usize], words[((a >> 8) % 16) as usize], words[((a >> 16) % 16) as usize], a % 997);
        let lat = (b % 120_000) as f64 / 1000.0 - 60.0;
        let lon = (c % 360_000) as f64 / 1000.0 - 180.0;
        let e = Entity { ..venue(&format!("v{i}"), &name, cats[(c % 6) as usize], (lat, lon), Some((b % 20_000) as u32)) };
        r.upsert(e);
    }
    eprintln!("build {} entities: {:?}", n, t0.elapsed());
    let mut s = spec("area"); s.area = Some(Area::Circle { center: gp(10.0, 10.0), radius_km: 300.0 }); s.categories = vec![cat("venue/sports")];
    let mut s2 = spec("cat"); s2.categories = vec![cat("place_of_worship")]; s2.area = Some(Area::Circle { center: gp(10.0, 10.0), radius_km: 50.0 });
    let s3 = named("Crocus Ciyt Hall500");
    let th = threat(vec![s, s2, s3]);
    let t1 = Instant::now();
    let mut total = 0;
    for _ in 0..100 { total += r.match_threat(&th).unwrap().len(); }
    eprintln!("100 threats: {:?}, matches/threat {}", t1.elapsed(), total / 100);
}
