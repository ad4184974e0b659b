//! Geometry (circle bounds, point in polygon) and the geo grid index.

use crate::net::IntBuildHasher;
use crate::postings;
use std::collections::HashMap;
use tocsin_core::GeoPoint;

/// Mean Earth radius used by [`GeoPoint::distance_km`].
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A latitude/longitude box. Longitudes may run past ±180 (the box then wraps the antimeridian);
/// `all_lon` covers every longitude (circles around a pole).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub lat_min: f64,
    pub lat_max: f64,
    pub lon_min: f64,
    pub lon_max: f64,
    pub all_lon: bool,
}

impl BBox {
    /// Box around a spherical cap of `radius_km` (exact for the sphere: Δlon = asin(sin δ / cos φ)).
    pub fn around_circle(center: &GeoPoint, radius_km: f64) -> Self {
        let delta = (radius_km.max(0.0) / EARTH_RADIUS_KM).min(std::f64::consts::PI);
        let dlat = delta.to_degrees();
        let lat_min = center.lat - dlat;
        let lat_max = center.lat + dlat;
        if lat_max >= 90.0 || lat_min <= -90.0 {
            return Self {
                lat_min: lat_min.max(-90.0),
                lat_max: lat_max.min(90.0),
                lon_min: -180.0,
                lon_max: 180.0,
                all_lon: true,
            };
        }
        let s = delta.sin() / center.lat.to_radians().cos();
        if s.is_nan() || s >= 1.0 {
            return Self {
                lat_min,
                lat_max,
                lon_min: -180.0,
                lon_max: 180.0,
                all_lon: true,
            };
        }
        let dlon = s.asin().to_degrees();
        Self {
            lat_min,
            lat_max,
            lon_min: center.lon - dlon,
            lon_max: center.lon + dlon,
            all_lon: dlon >= 180.0,
        }
    }

    /// Box of a ring's vertices (planar in degrees; rings crossing the antimeridian are not supported).
    pub fn around_ring(ring: &[GeoPoint]) -> Self {
        let mut b = Self {
            lat_min: 90.0,
            lat_max: -90.0,
            lon_min: 180.0,
            lon_max: -180.0,
            all_lon: false,
        };
        for p in ring {
            b.lat_min = b.lat_min.min(p.lat);
            b.lat_max = b.lat_max.max(p.lat);
            b.lon_min = b.lon_min.min(p.lon);
            b.lon_max = b.lon_max.max(p.lon);
        }
        b
    }
}

/// Point in polygon by ray casting in the lon/lat plane. The ring may or may not repeat its first
/// point at the end. Good for city- and region-sized polygons away from the antimeridian and poles.
pub fn point_in_ring(p: &GeoPoint, ring: &[GeoPoint]) -> bool {
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let mut inside = false;
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (&ring[i], &ring[j]);
        if (a.lat > p.lat) != (b.lat > p.lat) {
            let x = a.lon + (p.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);
            if p.lon < x {
                inside = !inside;
            }
        }
        j = i;
    }
    inside
}

/// The ring without a repeated closing point.
pub fn open_ring(ring: &[GeoPoint]) -> &[GeoPoint] {
    match (ring.first(), ring.last()) {
        (Some(f), Some(l)) if ring.len() > 1 && f == l => &ring[..ring.len() - 1],
        _ => ring,
    }
}

/// Vertex centroid of a ring and the farthest vertex distance from it, in km.
pub fn ring_centre(ring: &[GeoPoint]) -> (GeoPoint, f64) {
    let pts = open_ring(ring);
    let n = pts.len().max(1) as f64;
    let lat = pts.iter().map(|p| p.lat).sum::<f64>() / n;
    let lon = pts.iter().map(|p| p.lon).sum::<f64>() / n;
    let c = GeoPoint { lat, lon };
    let reach = pts.iter().map(|p| c.distance_km(p)).fold(0.0, f64::max);
    (c, reach)
}

/// Entities bucketed by a fixed lat/lon cell (posting lists of slot numbers). A query visits the
/// cells of a box, or every occupied cell when that is fewer (continent-sized areas), so its cost
/// is bounded by the result size plus min(cells in the box, occupied cells).
#[derive(Debug, Clone)]
pub struct GeoGrid {
    cell_deg: f64,
    rows: i64,
    cols: i64,
    cells: HashMap<u32, Vec<u32>, IntBuildHasher>,
}

impl GeoGrid {
    /// `cell_deg`: cell edge in degrees (0.1° ≈ 11 km of latitude).
    pub fn new(cell_deg: f64) -> Self {
        let cell_deg = if cell_deg.is_finite() && cell_deg > 0.01 {
            cell_deg.min(90.0)
        } else {
            0.1
        };
        Self {
            cell_deg,
            rows: (180.0 / cell_deg).ceil() as i64,
            cols: (360.0 / cell_deg).ceil() as i64,
            cells: HashMap::default(),
        }
    }

    fn row(&self, lat: f64) -> i64 {
        (((lat + 90.0) / self.cell_deg).floor() as i64).clamp(0, self.rows - 1)
    }

    fn col(&self, lon: f64) -> i64 {
        (((lon + 180.0) / self.cell_deg).floor() as i64).rem_euclid(self.cols)
    }

    fn key(&self, r: i64, c: i64) -> u32 {
        (r * self.cols + c) as u32
    }

    fn cell(&self, p: &GeoPoint) -> u32 {
        self.key(self.row(p.lat), self.col(p.lon))
    }

    pub fn insert(&mut self, p: &GeoPoint, id: u32) {
        let c = self.cell(p);
        postings::insert(self.cells.entry(c).or_default(), id);
    }

    pub fn remove(&mut self, p: &GeoPoint, id: u32) {
        let c = self.cell(p);
        if let Some(list) = self.cells.get_mut(&c) {
            postings::remove(list, id);
            if list.is_empty() {
                self.cells.remove(&c);
            }
        }
    }

    /// Row range and column range (start, length) covering the box padded by one cell.
    fn ranges(&self, b: &BBox) -> ((i64, i64), (i64, i64)) {
        let r0 = self.row(b.lat_min - self.cell_deg);
        let r1 = self.row(b.lat_max + self.cell_deg);
        if b.all_lon || b.lon_max - b.lon_min + 2.0 * self.cell_deg >= 360.0 {
            return ((r0, r1), (0, self.cols));
        }
        // Unwrapped column numbers (may lie outside 0..cols when the box crosses ±180).
        let c0 = ((b.lon_min - self.cell_deg + 180.0) / self.cell_deg).floor() as i64;
        let c1 = ((b.lon_max + self.cell_deg + 180.0) / self.cell_deg).floor() as i64;
        (
            (r0, r1),
            (c0.rem_euclid(self.cols), (c1 - c0 + 1).clamp(1, self.cols)),
        )
    }

    /// Visit the posting list of every cell that may hold a point inside the box.
    pub fn for_each_cell<'a>(&'a self, b: &BBox, mut f: impl FnMut(&'a [u32])) {
        let ((r0, r1), (c0, clen)) = self.ranges(b);
        let boxed = (r1 - r0 + 1) * clen;
        if boxed as usize > self.cells.len() {
            for (&k, list) in &self.cells {
                let (r, c) = (i64::from(k) / self.cols, i64::from(k) % self.cols);
                if r >= r0 && r <= r1 && (c - c0).rem_euclid(self.cols) < clen {
                    f(list);
                }
            }
        } else {
            for r in r0..=r1 {
                for k in 0..clen {
                    if let Some(list) = self.cells.get(&self.key(r, (c0 + k).rem_euclid(self.cols)))
                    {
                        f(list);
                    }
                }
            }
        }
    }

    /// Upper bound of the number of ids in the box.
    pub fn estimate(&self, b: &BBox) -> usize {
        let mut n = 0;
        self.for_each_cell(b, |s| n += s.len());
        n
    }

    /// Ids that may lie in the box (each once: cells are disjoint).
    pub fn candidates(&self, b: &BBox, out: &mut Vec<u32>) {
        self.for_each_cell(b, |s| out.extend_from_slice(s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gp(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint::new(lat, lon).unwrap()
    }

    #[test]
    fn circle_box_contains_the_circle() {
        let c = gp(55.7558, 37.6173);
        let b = BBox::around_circle(&c, 40.0);
        assert!(b.lat_max - c.lat > 0.35 && b.lat_max - c.lat < 0.37);
        assert!(b.lon_max - c.lon > 0.6 && b.lon_max - c.lon < 0.65);
        let polar = BBox::around_circle(&gp(89.5, 0.0), 100.0);
        assert!(polar.all_lon);
    }

    #[test]
    fn polygon_membership() {
        let sq = [gp(0.0, 0.0), gp(0.0, 1.0), gp(1.0, 1.0), gp(1.0, 0.0)];
        assert!(point_in_ring(&gp(0.5, 0.5), &sq));
        assert!(!point_in_ring(&gp(1.5, 0.5), &sq));
        let closed = [
            gp(0.0, 0.0),
            gp(0.0, 1.0),
            gp(1.0, 1.0),
            gp(1.0, 0.0),
            gp(0.0, 0.0),
        ];
        assert!(point_in_ring(&gp(0.5, 0.5), &closed));
        // A concave "C" shape: the notch is outside.
        let c_shape = [
            gp(0.0, 0.0),
            gp(0.0, 3.0),
            gp(1.0, 3.0),
            gp(1.0, 1.0),
            gp(2.0, 1.0),
            gp(2.0, 3.0),
            gp(3.0, 3.0),
            gp(3.0, 0.0),
        ];
        assert!(!point_in_ring(&gp(1.5, 2.0), &c_shape));
        assert!(point_in_ring(&gp(1.5, 0.5), &c_shape));
    }

    #[test]
    fn grid_wraps_the_antimeridian() {
        let mut g = GeoGrid::new(0.5);
        g.insert(&gp(0.0, 179.9), 1);
        g.insert(&gp(0.0, -179.9), 2);
        g.insert(&gp(0.0, 0.0), 3);
        let mut out = Vec::new();
        g.candidates(&BBox::around_circle(&gp(0.0, 180.0), 50.0), &mut out);
        out.sort();
        assert_eq!(out, [1, 2]);
        g.remove(&gp(0.0, 179.9), 1);
        out.clear();
        g.candidates(&BBox::around_circle(&gp(0.0, -180.0), 50.0), &mut out);
        assert_eq!(out, [2]);
    }
}
