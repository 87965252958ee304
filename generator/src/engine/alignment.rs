//! Hour and weekday weights that meet the profiles whatever the window's alignment.
//!
//! A standalone timestamp (no `after`) is drawn with density `a[weekday] · b[hour]` over the
//! window. Used as they are, the profiles' weights are met only when every (weekday, hour)
//! cell occurs equally often in the window: a 30-day window holds two weekdays five times and
//! the others four, and a window ending at 13:47 holds fourteen hours once more than the
//! rest. Which ones depends on the day and time the window ends (for a spec derived from a
//! pack, the day the pack was extracted), so the achieved weekday share moved with the
//! calendar (issue 17: a round trip's weekday figure failed on some days only).
//!
//! [`rake`] counts how much of each (weekday, hour) cell the window holds, as the generators
//! draw it (a day by its length in the window, then an hour by its in-range share: see
//! [`coverage`]), and rescales the weights by iterative proportional fitting until the
//! weekday and hour marginals of `a · b · coverage` are the profiles'. Pure arithmetic on the
//! spec's window: the same spec gives the same weights on any machine and any day.

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;

/// Rounds of proportional fitting; the marginals converge geometrically, far below 1e-9.
const ROUNDS: usize = 200;

/// How much of each (ISO weekday, Monday = 0; UTC hour) cell `[start, end)` holds, weighted as
/// the generators draw: a day by its in-window length, then an hour by its in-window share.
pub(crate) fn coverage(start: i64, end: i64) -> [[f64; 24]; 7] {
    let mut cover = [[0.0; 24]; 7];
    if end <= start {
        return cover;
    }
    for d in start.div_euclid(DAY_US)..=(end - 1).div_euclid(DAY_US) {
        let (s, e) = ((d * DAY_US).max(start), ((d + 1) * DAY_US).min(end));
        let day_len = (e - s) as f64 / DAY_US as f64;
        let dow = (d + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
        for (h, cell) in cover[dow].iter_mut().enumerate() {
            let hs = d * DAY_US + h as i64 * HOUR_US;
            let inside = (hs + HOUR_US).clamp(start, end) - hs.clamp(start, end);
            *cell += day_len * inside as f64 / HOUR_US as f64;
        }
    }
    cover
}

/// Weights `(hourly, weekly)` whose draws over `[start, end)` have the profiles' hour and
/// weekday shares. `None` stays `None` (that marginal is whatever the window gives). Weekly
/// weights come out with a maximum of 1 (the generators accept a day with its weight as
/// probability); hourly weights are relative.
pub(crate) fn rake(
    start: i64,
    end: i64,
    hourly: Option<&[f64; 24]>,
    weekly: Option<&[f64; 7]>,
) -> (Option<[f64; 24]>, Option<[f64; 7]>) {
    let cover = coverage(start, end);
    if cover.iter().flatten().all(|c| *c == 0.0) {
        return (hourly.copied(), weekly.copied()); // an empty window: nothing to fit
    }
    let mut a = weekly.copied().unwrap_or([1.0; 7]);
    let mut b = hourly.copied().unwrap_or([1.0; 24]);
    for _ in 0..ROUNDS {
        if let Some(w) = weekly {
            for d in 0..7 {
                let held: f64 = (0..24).map(|h| b[h] * cover[d][h]).sum();
                a[d] = if held > 0.0 { w[d] / held } else { 0.0 };
            }
        }
        if let Some(p) = hourly {
            for h in 0..24 {
                let held: f64 = (0..7).map(|d| a[d] * cover[d][h]).sum();
                b[h] = if held > 0.0 { p[h] / held } else { 0.0 };
            }
        }
        if weekly.is_none() || hourly.is_none() {
            break; // one marginal: one round fits it exactly
        }
    }
    let scale = |v: &mut [f64]| {
        let max = v.iter().cloned().fold(0.0, f64::max);
        if max > 0.0 {
            v.iter_mut().for_each(|x| *x /= max);
        }
    };
    scale(&mut a);
    scale(&mut b);
    (hourly.map(|_| b), weekly.map(|_| a))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hour and weekday shares that weights `(b, a)` give over `[start, end)`.
    fn shares(start: i64, end: i64, b: &[f64; 24], a: &[f64; 7]) -> ([f64; 24], [f64; 7]) {
        let cover = coverage(start, end);
        let (mut hours, mut days) = ([0.0; 24], [0.0; 7]);
        for d in 0..7 {
            for h in 0..24 {
                let m = a[d] * b[h] * cover[d][h];
                hours[h] += m;
                days[d] += m;
            }
        }
        let total: f64 = days.iter().sum();
        hours.iter_mut().for_each(|x| *x /= total);
        days.iter_mut().for_each(|x| *x /= total);
        (hours, days)
    }

    fn share_of<const N: usize>(w: &[f64; N]) -> [f64; N] {
        let total: f64 = w.iter().sum();
        w.map(|x| x / total)
    }

    fn tvd(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / 2.0
    }

    const HOURLY: [f64; 24] = [
        1., 1., 1., 1., 1., 2., 4., 6., 8., 9., 10., 9., 8., 8., 7., 7., 7., 8., 9., 10., 8., 5.,
        3., 2.,
    ];
    const WEEKLY: [f64; 7] = [1.0, 0.95, 0.9, 0.9, 0.85, 0.4, 0.3];

    #[test]
    fn a_30_day_window_holds_two_weekdays_five_times() {
        // 2026-12-02 00:00 UTC (a Wednesday) back 30 days: 2 November (a Monday) to 1 December.
        let end = 20_789 * DAY_US;
        let c = coverage(end - 30 * DAY_US, end);
        let days: Vec<f64> = c.iter().map(|h| h.iter().sum::<f64>() / 24.0).collect();
        assert_eq!(
            days,
            [5.0, 5.0, 4.0, 4.0, 4.0, 4.0, 4.0],
            "Monday, Tuesday x5"
        );
    }

    /// Windows ending on seven consecutive days, at midnight and at an odd time: the raw
    /// weights miss the weekday profile by a day-dependent amount, the raked ones meet it.
    #[test]
    fn raked_weights_meet_the_profiles_on_any_day() {
        let base = 20_789 * DAY_US;
        for day in 0..7 {
            for time in [0, 13 * HOUR_US + 47 * 60_000_000] {
                let end = base + day * DAY_US + time;
                let start = end - 30 * DAY_US;
                let (raw_h, raw_d) = shares(start, end, &HOURLY, &WEEKLY);
                let (h, a) = rake(start, end, Some(&HOURLY), Some(&WEEKLY));
                let (got_h, got_d) = shares(start, end, &h.unwrap(), &a.unwrap());
                assert!(
                    tvd(&got_d, &share_of(&WEEKLY)) < 1e-9,
                    "day {day}: {got_d:?}"
                );
                assert!(
                    tvd(&got_h, &share_of(&HOURLY)) < 1e-9,
                    "day {day}: {got_h:?}"
                );
                assert!(
                    tvd(&raw_d, &share_of(&WEEKLY)) > 0.01,
                    "the raw weights miss (else this test shows nothing)"
                );
                let _ = raw_h;
                assert!(a.unwrap().iter().cloned().fold(0.0, f64::max) == 1.0);
            }
        }
    }

    #[test]
    fn one_profile_alone_and_short_windows() {
        let end = 20_789 * DAY_US + 5 * HOUR_US;
        // Hourly only: the weekday marginal is the window's own, hours are met.
        let (h, a) = rake(end - 30 * DAY_US, end, Some(&HOURLY), None);
        assert!(a.is_none());
        let (got_h, _) = shares(end - 30 * DAY_US, end, &h.unwrap(), &[1.0; 7]);
        assert!(tvd(&got_h, &share_of(&HOURLY)) < 1e-9);
        // Three days: four weekdays are absent and get no weight; the others stay finite.
        let (_, a) = rake(end - 3 * DAY_US, end, None, Some(&WEEKLY));
        let a = a.unwrap();
        assert_eq!(a.iter().filter(|x| **x == 0.0).count(), 3, "{a:?}");
        assert!(a.iter().all(|x| x.is_finite()));
        // An empty window keeps the weights as they are.
        assert_eq!(
            rake(end, end, Some(&HOURLY), Some(&WEEKLY)),
            (Some(HOURLY), Some(WEEKLY))
        );
    }
}
