//! Ascending timestamps drawn in order, one at a time, in constant memory.
//!
//! The rows of a group (a conversation's messages, say) get their times sorted. Drawing n
//! values and sorting them needs all n at once; instead, the k-th smallest of n uniform draws
//! is drawn directly after the (k-1)-th (order statistics: the survival `1 - u` of the next one
//! is the last one's times `v^(1/(n-k+1))`, `v` uniform), and mapped through the inverse of
//! the group's time distribution, which is monotone: the values come out sorted, distributed
//! exactly as n independent draws would be, whatever the group's size.
//!
//! The distribution, between `lo` (the parent's time, or the window start) and `hi` (the
//! window end): each day gets the mass the offset distribution gives it (its length without
//! one), times its weekday weight; inside a day, hours get the hourly profile's weights over
//! the part of the hour that is in range; inside an hour, time is uniform. Hour and weekday
//! profiles are therefore met exactly, with no rejection that would push times late in the day.

use pgshape_core::dist::Compiled;
use pgshape_core::rng::Stream;

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;

/// The distribution of one group's times and the position of the last value drawn.
pub(crate) struct Ascending {
    lo: i64,
    hi: i64,
    /// `ln(1 - u)` of the last order statistic drawn, and the values still to draw.
    log_survival: f64,
    left: u64,
    /// Day number of `lo`, and the cumulative mass at the end of each day from it (the last is
    /// the total).
    first_day: i64,
    days: Vec<f64>,
    /// The day the last value fell in, and the cumulative mass at the end of each of its hours.
    day: usize,
    hours: [f64; 24],
    hourly: Option<[f64; 24]>,
    /// `hours` of a day wholly in range, the same for every such day: worked out once.
    full_day: Option<[f64; 24]>,
}

impl Ascending {
    /// The times of a group of `n` values after `base` (or anywhere in the window when there is
    /// none).
    pub(crate) fn new(
        n: u64,
        base: Option<i64>,
        window: (i64, i64),
        offset: Option<&Compiled>,
        hourly: Option<&[f64; 24]>,
        weekly: Option<&[f64; 7]>,
    ) -> Ascending {
        let lo = base.unwrap_or(window.0);
        let hi = window.1.max(lo);
        let first_day = lo.div_euclid(DAY_US);
        let last_day = (hi - 1).max(lo).div_euclid(DAY_US);
        let mut acc = 0.0;
        let days = (first_day..=last_day)
            .map(|d| {
                let (s, e) = ((d * DAY_US).max(lo), ((d + 1) * DAY_US).min(hi));
                let mut m = match (base, offset) {
                    (Some(b), Some(o)) => o.cdf((e - b) as f64 / 1e6) - o.cdf((s - b) as f64 / 1e6),
                    _ => (e - s) as f64,
                }
                .max(0.0);
                if let Some(w) = weekly {
                    m *= w[(d + 3).rem_euclid(7) as usize].min(1.0); // 1970-01-01: Thursday
                }
                // A day cut by the range keeps the share of its hourly weight still in range
                // (a time the offset puts before the parent's hour is not moved later).
                if e - s < DAY_US {
                    m *= day_share(d, lo, hi, hourly);
                }
                acc += m;
                acc
            })
            .collect();
        let mut a = Ascending {
            lo,
            hi,
            log_survival: 0.0,
            left: n,
            first_day,
            days,
            day: 0,
            hours: [0.0; 24],
            hourly: hourly.copied(),
            full_day: None,
        };
        a.enter_day(0);
        a
    }

    /// The next value (the smallest not drawn yet), from one draw of `s`.
    pub(crate) fn next(&mut self, s: &mut Stream) -> i64 {
        let v = s.open_unit();
        if self.left > 0 {
            self.log_survival += libm::log(v) / self.left as f64;
            self.left -= 1;
        }
        let total = *self.days.last().expect("at least one day");
        if total <= 0.0 || self.hi <= self.lo {
            return self.lo;
        }
        let u = (-libm::expm1(self.log_survival)) * total; // (1 - survival) of the total mass
        while self.day + 1 < self.days.len() && self.days[self.day] <= u {
            self.enter_day(self.day + 1);
        }
        let day_start = if self.day == 0 {
            0.0
        } else {
            self.days[self.day - 1]
        };
        let day_mass = self.days[self.day] - day_start;
        let f = if day_mass > 0.0 {
            ((u - day_start) / day_mass).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let h = self.hours.partition_point(|&c| c <= f).min(23);
        let h_start = if h == 0 { 0.0 } else { self.hours[h - 1] };
        let within = if self.hours[h] > h_start {
            (f - h_start) / (self.hours[h] - h_start)
        } else {
            0.0
        };
        let (s0, e0) = self.hour_range(h);
        (s0 + (within * (e0 - s0) as f64) as i64).clamp(self.lo, self.hi)
    }

    /// The part of hour `h` of the current day that is in range.
    fn hour_range(&self, h: usize) -> (i64, i64) {
        let start = (self.first_day + self.day as i64) * DAY_US + h as i64 * HOUR_US;
        (
            start.clamp(self.lo, self.hi),
            (start + HOUR_US).clamp(self.lo, self.hi),
        )
    }

    /// Moves to day `d` and spreads its mass over its hours.
    fn enter_day(&mut self, d: usize) {
        self.day = d;
        let start = (self.first_day + d as i64) * DAY_US;
        let full = start >= self.lo && start + DAY_US <= self.hi;
        if full {
            if let Some(hours) = self.full_day {
                self.hours = hours;
                return;
            }
        }
        let mut acc = 0.0;
        for h in 0..24 {
            let (s, e) = self.hour_range(h);
            let len = (e - s) as f64 / HOUR_US as f64;
            acc += len * self.hourly.map_or(1.0, |w| w[h]);
            self.hours[h] = acc;
        }
        if acc > 0.0 {
            self.hours.iter_mut().for_each(|c| *c /= acc);
        } else {
            self.hours = [1.0; 24];
        }
        if full {
            self.full_day = Some(self.hours);
        }
    }
}

/// The share of day `d`'s hourly weight (its length without a profile) within `[lo, hi)`.
fn day_share(d: i64, lo: i64, hi: i64, hourly: Option<&[f64; 24]>) -> f64 {
    let (mut inside, mut all) = (0.0, 0.0);
    for h in 0..24 {
        let start = d * DAY_US + h as i64 * HOUR_US;
        let len = ((start + HOUR_US).clamp(lo, hi) - start.clamp(lo, hi)) as f64 / HOUR_US as f64;
        let w = hourly.map_or(1.0, |w| w[h]);
        inside += len * w;
        all += w;
    }
    if all > 0.0 {
        inside / all
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgshape_core::rng::Seed;

    const WEEK: (i64, i64) = (0, 28 * DAY_US);

    fn draw(n: u64, hourly: Option<&[f64; 24]>, weekly: Option<&[f64; 7]>) -> Vec<i64> {
        let mut s = Seed::new("ascending").key("t", "c").stream(0);
        let mut a = Ascending::new(n, Some(DAY_US / 3), WEEK, None, hourly, weekly);
        (0..n).map(|_| a.next(&mut s)).collect()
    }

    #[test]
    fn values_are_sorted_and_in_range() {
        let v = draw(50_000, None, None);
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
        assert!(v[0] >= DAY_US / 3 && *v.last().unwrap() <= WEEK.1);
    }

    #[test]
    fn uniform_without_profiles() {
        // Deciles of the values are those of a uniform distribution on [lo, hi].
        let v = draw(100_000, None, None);
        let (lo, hi) = (DAY_US / 3, WEEK.1);
        for k in 1..10 {
            let got = v[v.len() * k / 10] as f64;
            let want = lo as f64 + (hi - lo) as f64 * k as f64 / 10.0;
            assert!(
                (got - want).abs() < 0.01 * (hi - lo) as f64,
                "decile {k}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn hourly_and_weekday_profiles_are_met() {
        let mut hourly = [1.0; 24];
        hourly[20] = 5.0;
        let mut weekly = [1.0; 7];
        weekly[5] = 0.2; // Saturday
        let v = draw(200_000, Some(&hourly), Some(&weekly));
        let mut hours = [0usize; 24];
        let mut dows = [0usize; 7];
        for t in &v {
            hours[(t.rem_euclid(DAY_US) / HOUR_US) as usize] += 1;
            dows[(t.div_euclid(DAY_US) + 3).rem_euclid(7) as usize] += 1;
        }
        let share20 = hours[20] as f64 / v.len() as f64;
        assert!((share20 - 5.0 / 28.0).abs() < 0.01, "hour 20: {share20}");
        let sat = dows[5] as f64 / dows[4] as f64; // Saturday vs Friday
        assert!((sat - 0.2).abs() < 0.03, "Saturday/Friday {sat}");
    }
}
