//! The synthetic population: who the users are, when they tested, how they answered.
//!
//! Everything a user is made of comes from one random stream seeded by `(seed, user index)`,
//! so each table's pass regenerates the same user without holding the population in memory,
//! and the same seed gives the same data set. Answers follow a two-parameter logistic model:
//! a user of ability `theta` answers an item of discrimination `a` and difficulty `b` correctly
//! with probability `1 / (1 + exp(-a (theta - b)))`.

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use time::{Duration, OffsetDateTime};

use aiq_core::questions::{Difficulty, Domain};

/// Questions in one synthetic test, as in a real fixed-form test.
pub(super) const QUESTIONS_PER_TEST: usize = 25;
/// One user in this many owns a group.
pub(super) const USERS_PER_GROUP: u64 = 40;
/// One user in this many sent feedback.
pub(super) const USERS_PER_FEEDBACK: u64 = 50;
/// Analytics events per user.
pub(super) const EVENTS_PER_USER: u64 = 4;
/// The span the tests are spread over.
const HISTORY: Duration = Duration::days(730);

const FIRST_NAMES: [&str; 12] = [
    "Ada", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lena",
];

/// An item of the bank as the generator sees it.
#[derive(Debug, Clone)]
pub(super) struct Item {
    /// `questions.id`.
    pub id: i64,
    /// Its domain.
    pub domain: Domain,
    /// Its difficulty label.
    pub difficulty: Difficulty,
    /// 2PL discrimination.
    pub a: f64,
    /// 2PL difficulty.
    pub b: f64,
    /// The answer that scores.
    pub correct_answer: String,
    /// An answer that does not.
    pub wrong_answer: String,
}

impl Item {
    /// The 2PL parameters: the calibrated ones when the item has them, otherwise drawn around
    /// its difficulty label (easy −1, medium 0, hard 1.2) from `seed`.
    pub(super) fn parameters(
        id: i64,
        difficulty: Difficulty,
        calibrated: Option<(f64, f64)>,
        seed: u64,
    ) -> (f64, f64) {
        if let Some((a, b)) = calibrated.filter(|(a, b)| a.is_finite() && b.is_finite()) {
            return (a, b);
        }
        let mut rng = StdRng::seed_from_u64(seed ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let centre = match difficulty {
            Difficulty::Easy => -1.0,
            Difficulty::Medium => 0.0,
            Difficulty::Hard => 1.2,
        };
        let a = 0.7 + 1.0 * rng.random::<f64>();
        let b = centre + 0.4 * standard_normal(&mut rng);
        (a, b)
    }

    /// The probability that ability `theta` answers this item correctly.
    pub(super) fn p_correct(&self, theta: f64) -> f64 {
        1.0 / (1.0 + (-self.a * (theta - self.b)).exp())
    }
}

/// The size and id ranges of a data set.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    /// Users to create.
    pub users: u64,
    /// Completed tests per user.
    pub tests_per_user: u32,
    /// The seed of every random draw.
    pub seed: u64,
    /// The present: every date is before it.
    pub now: OffsetDateTime,
    /// The first free id of each table that gets explicit ids.
    pub first_ids: FirstIds,
}

/// The first id each table's new rows use (one past the largest id there).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct FirstIds {
    /// `users`.
    pub user: i64,
    /// `test_sessions` (`test_results` and `user_questions`/`responses` derive theirs from it).
    pub session: i64,
    /// `test_results`.
    pub result: i64,
    /// `responses`.
    pub response: i64,
    /// `user_questions`.
    pub seen: i64,
    /// `groups`.
    pub group: i64,
}

impl Shape {
    /// Session slots per user: the completed tests and one that may be abandoned.
    fn slots(&self) -> i64 {
        i64::from(self.tests_per_user) + 1
    }

    /// The user at `index` (0-based).
    pub(super) fn user(&self, index: u64, items: &[Item]) -> UserPlan {
        let mut rng = StdRng::seed_from_u64(
            self.seed
                .wrapping_mul(0x2545_F491_4F6C_DD1D)
                .wrapping_add(index),
        );
        let id = self.first_ids.user + index as i64;
        let theta = standard_normal(&mut rng);
        let tests = i64::from(self.tests_per_user);
        // Tests at least 90 days apart when the history allows it (the cadence), closer when
        // more tests were asked for than two years hold.
        let gap = Duration::seconds(
            (HISTORY.whole_seconds() / (tests + 1)).min(Duration::days(120).whole_seconds()),
        );
        let earliest = HISTORY - gap * (tests as i32);
        let first_start = self.now - HISTORY + earliest * rng.random::<f64>();
        let created_at = first_start - Duration::seconds(rng.random_range(60..86_400));
        let abandons = rng.random::<f64>() < 0.15;
        let shown = QUESTIONS_PER_TEST * (self.tests_per_user as usize + usize::from(abandons));
        let picks = distinct_indices(&mut rng, items.len(), shown);
        let mut sessions = Vec::with_capacity(self.slots() as usize);
        let slot0 = index as i64 * self.slots();
        for (j, chosen) in picks.chunks(QUESTIONS_PER_TEST).enumerate() {
            let started_at = first_start
                + gap * (j as i32)
                + Duration::seconds(rng.random_range(0..(gap.whole_seconds() / 4).max(1)));
            let completed = j < self.tests_per_user as usize;
            let answers: Vec<Answer> = chosen
                .iter()
                .map(|&item| Answer {
                    item,
                    correct: rng.random::<f64>() < items[item].p_correct(theta),
                    seconds: rng.random_range(12..95),
                })
                .collect();
            let slot = slot0 + j as i64;
            let elapsed: i64 = answers.iter().map(|a| i64::from(a.seconds)).sum();
            sessions.push(SessionPlan {
                id: self.first_ids.session + slot,
                result_id: self.first_ids.result + slot,
                first_response_id: self.first_ids.response + slot * QUESTIONS_PER_TEST as i64,
                first_seen_id: self.first_ids.seen + slot * QUESTIONS_PER_TEST as i64,
                started_at,
                completed_at: completed.then(|| started_at + Duration::seconds(elapsed)),
                answers,
            });
        }
        let device_token = (rng.random::<f64>() < 0.7).then(|| {
            (0..4)
                .map(|_| format!("{:016x}", rng.random::<u64>()))
                .collect::<String>()
        });
        UserPlan {
            index,
            id,
            theta,
            created_at,
            first_name: FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())],
            device_token,
            sessions,
        }
    }

    /// The group user `index` owns, if it owns one: its id and its other members' indices.
    pub(super) fn group_of(&self, index: u64) -> Option<(i64, Vec<u64>)> {
        if !index.is_multiple_of(USERS_PER_GROUP) || index + 1 >= self.users {
            return None;
        }
        let mut rng = StdRng::seed_from_u64(self.seed ^ 0x6A09_E667_F3BC_C908 ^ index);
        let size = rng.random_range(1..=8u64);
        let members = (index + 1..(index + 1 + size).min(self.users)).collect();
        Some((
            self.first_ids.group + (index / USERS_PER_GROUP) as i64,
            members,
        ))
    }
}

/// One synthetic user.
#[derive(Debug, Clone)]
pub(super) struct UserPlan {
    /// Position in the data set.
    pub index: u64,
    /// `users.id`.
    pub id: i64,
    /// Ability on the 2PL scale.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the answers are drawn from it; tests read it")
    )]
    pub theta: f64,
    /// When the account was made (before the first test).
    pub created_at: OffsetDateTime,
    /// Given name.
    pub first_name: &'static str,
    /// APNs token, for about 70 % of users.
    pub device_token: Option<String>,
    /// The completed tests in order, then an abandoned one for about 15 % of users.
    pub sessions: Vec<SessionPlan>,
}

impl UserPlan {
    /// The address of this user: unique by id, so a second run adds users rather than failing.
    pub(super) fn email(&self) -> String {
        format!("synthetic.user{}@example.com", self.id)
    }

    /// The latest completed session.
    pub(super) fn last_completed(&self) -> Option<&SessionPlan> {
        self.sessions
            .iter()
            .rev()
            .find(|s| s.completed_at.is_some())
    }
}

/// One test session of a synthetic user.
#[derive(Debug, Clone)]
pub(super) struct SessionPlan {
    /// `test_sessions.id`.
    pub id: i64,
    /// `test_results.id` (completed sessions only).
    pub result_id: i64,
    /// The first `responses.id` of its answers.
    pub first_response_id: i64,
    /// The first `user_questions.id` of its questions.
    pub first_seen_id: i64,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// When it was submitted; `None`: abandoned.
    pub completed_at: Option<OffsetDateTime>,
    /// The questions shown, each with how it was (or would have been) answered.
    pub answers: Vec<Answer>,
}

impl SessionPlan {
    /// Correct answers.
    pub(super) fn correct(&self) -> usize {
        self.answers.iter().filter(|a| a.correct).count()
    }
}

/// One answer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Answer {
    /// Index into the items.
    pub item: usize,
    /// Whether it scored.
    pub correct: bool,
    /// Seconds spent on it.
    pub seconds: i32,
}

/// `count` distinct indices below `len` (all of them, shuffled, when `count >= len`).
fn distinct_indices(rng: &mut StdRng, len: usize, count: usize) -> Vec<usize> {
    let count = count.min(len);
    let mut seen = HashSet::with_capacity(count);
    let mut picks = Vec::with_capacity(count);
    while picks.len() < count {
        let pick = rng.random_range(0..len);
        if seen.insert(pick) {
            picks.push(pick);
        }
    }
    picks
}

/// A standard normal draw (Box-Muller).
fn standard_normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| {
                let difficulty = [Difficulty::Easy, Difficulty::Medium, Difficulty::Hard][i % 3];
                let (a, b) = Item::parameters(i as i64 + 1, difficulty, None, 7);
                Item {
                    id: i as i64 + 1,
                    domain: Domain::Logic,
                    difficulty,
                    a,
                    b,
                    correct_answer: "A".into(),
                    wrong_answer: "B".into(),
                }
            })
            .collect()
    }

    fn shape(users: u64, tests_per_user: u32) -> Shape {
        Shape {
            users,
            tests_per_user,
            seed: 42,
            now: time::macros::datetime!(2026-12-07 12:00 UTC),
            first_ids: FirstIds {
                user: 10,
                session: 100,
                result: 1000,
                response: 1,
                seen: 1,
                group: 5,
            },
        }
    }

    #[test]
    fn a_user_is_the_same_every_time_it_is_generated() {
        let items = bank(300);
        let shape = shape(50, 3);
        let first = shape.user(17, &items);
        let again = shape.user(17, &items);
        assert_eq!(first.theta, again.theta);
        assert_eq!(first.email(), again.email());
        let answers = |u: &UserPlan| -> Vec<(usize, bool)> {
            u.sessions
                .iter()
                .flat_map(|s| s.answers.iter().map(|a| (a.item, a.correct)))
                .collect()
        };
        assert_eq!(answers(&first), answers(&again));
        assert_ne!(answers(&first), answers(&shape.user(18, &items)));
    }

    #[test]
    fn tests_are_in_the_past_in_order_and_never_repeat_a_question() {
        let items = bank(300);
        let shape = shape(200, 3);
        for index in 0..shape.users {
            let user = shape.user(index, &items);
            let completed: Vec<_> = user
                .sessions
                .iter()
                .filter(|s| s.completed_at.is_some())
                .collect();
            assert_eq!(completed.len(), 3);
            assert!(user.sessions.len() <= 4);
            assert!(user.created_at < user.sessions[0].started_at);
            for pair in completed.windows(2) {
                assert!(pair[0].completed_at < Some(pair[1].started_at));
            }
            for session in &user.sessions {
                assert_eq!(session.answers.len(), QUESTIONS_PER_TEST);
                assert!(session.completed_at.is_none_or(|at| at < shape.now));
                assert!(session.started_at > shape.now - HISTORY - Duration::days(1));
            }
            let shown: HashSet<usize> = user
                .sessions
                .iter()
                .flat_map(|s| s.answers.iter().map(|a| a.item))
                .collect();
            assert_eq!(shown.len(), user.sessions.len() * QUESTIONS_PER_TEST);
        }
    }

    #[test]
    fn ids_of_different_users_never_overlap() {
        let items = bank(300);
        let shape = shape(30, 2);
        let mut sessions = HashSet::new();
        let mut responses = HashSet::new();
        for index in 0..shape.users {
            for session in shape.user(index, &items).sessions {
                assert!(sessions.insert(session.id));
                for k in 0..QUESTIONS_PER_TEST as i64 {
                    assert!(responses.insert(session.first_response_id + k));
                }
            }
        }
    }

    #[test]
    fn able_users_answer_more_correctly() {
        let items = bank(990);
        let shape = shape(2_000, 3);
        let (mut low, mut high) = ((0usize, 0usize), (0usize, 0usize));
        for index in 0..shape.users {
            let user = shape.user(index, &items);
            let bucket = if user.theta < -1.0 {
                &mut low
            } else if user.theta > 1.0 {
                &mut high
            } else {
                continue;
            };
            for session in user.sessions.iter().filter(|s| s.completed_at.is_some()) {
                bucket.0 += session.correct();
                bucket.1 += QUESTIONS_PER_TEST;
            }
        }
        let share = |(correct, total): (usize, usize)| correct as f64 / total as f64;
        assert!(
            share(high) > share(low) + 0.3,
            "{} vs {}",
            share(high),
            share(low)
        );
    }

    #[test]
    fn groups_have_an_owner_and_members_who_exist() {
        let shape = shape(100, 1);
        let groups: Vec<_> = (0..shape.users).filter_map(|i| shape.group_of(i)).collect();
        assert_eq!(groups.len(), 3);
        for (_, members) in &groups {
            assert!(!members.is_empty() && members.len() <= 8);
            assert!(members.iter().all(|m| *m < shape.users));
        }
    }
}
