//! Spatial items: rotations and reflections of small grids drawn in text (`#` filled, `.`
//! empty, rows written top to bottom and joined by `|`), and walks on a grid.

use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Difficulty, Draft, below, between, coin, params, pick, shuffle, to_meta};

/// One move of a grid transformation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Step {
    /// 90° clockwise.
    Rot90,
    /// 180°.
    Rot180,
    /// 90° anticlockwise.
    Rot270,
    /// Left and right swap.
    MirrorLr,
    /// Top and bottom swap.
    MirrorTb,
    /// Reflection in the top-left to bottom-right diagonal.
    Transpose,
}

/// A spatial item's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
enum SpatialItem {
    /// `grid` (rows of `#` and `.`) after `steps` in order.
    GridTransform { grid: Vec<String>, steps: Vec<Step> },
    /// From (0, 0) facing north, follow `moves` (`F<n>`, `L`, `R`, `U` for a U-turn).
    GridPath { moves: Vec<String> },
}

type Grid = Vec<Vec<bool>>;

fn parse(rows: &[String]) -> Option<Grid> {
    let grid: Grid = rows
        .iter()
        .map(|r| r.chars().map(|c| c == '#').collect())
        .collect();
    let n = grid.len();
    let ok = (2..=6).contains(&n)
        && rows
            .iter()
            .all(|r| r.chars().count() == n && r.chars().all(|c| c == '#' || c == '.'));
    ok.then_some(grid)
}

fn apply(grid: &Grid, step: Step) -> Grid {
    let n = grid.len();
    let cell = |r: usize, c: usize| match step {
        Step::Rot90 => grid[n - 1 - c][r],
        Step::Rot180 => grid[n - 1 - r][n - 1 - c],
        Step::Rot270 => grid[c][n - 1 - r],
        Step::MirrorLr => grid[r][n - 1 - c],
        Step::MirrorTb => grid[n - 1 - r][c],
        Step::Transpose => grid[c][r],
    };
    (0..n)
        .map(|r| (0..n).map(|c| cell(r, c)).collect())
        .collect()
}

fn line(grid: &Grid) -> String {
    let rows: Vec<String> = grid
        .iter()
        .map(|r| r.iter().map(|b| if *b { '#' } else { '.' }).collect())
        .collect();
    rows.join("|")
}

fn describe(step: Step) -> &'static str {
    match step {
        Step::Rot90 => "rotated 90° clockwise",
        Step::Rot180 => "rotated 180°",
        Step::Rot270 => "rotated 90° anticlockwise",
        Step::MirrorLr => "reflected left to right (mirrored in a vertical line)",
        Step::MirrorTb => "reflected top to bottom (mirrored in a horizontal line)",
        Step::Transpose => "reflected in its top-left to bottom-right diagonal",
    }
}

/// Position and heading (0 north, 1 east, 2 south, 3 west) after `moves`; `swap_turns` reads L
/// as R and R as L (a typical mistake).
fn walk(moves: &[String], swap_turns: bool) -> Option<(i64, i64, usize)> {
    let (mut x, mut y, mut heading) = (0i64, 0i64, 0usize);
    for m in moves {
        match m.as_str() {
            "L" => heading = (heading + if swap_turns { 1 } else { 3 }) % 4,
            "R" => heading = (heading + if swap_turns { 3 } else { 1 }) % 4,
            "U" => heading = (heading + 2) % 4,
            f => {
                let steps: i64 = f
                    .strip_prefix('F')?
                    .parse()
                    .ok()
                    .filter(|s| (1..=9).contains(s))?;
                match heading {
                    0 => y += steps,
                    1 => x += steps,
                    2 => y -= steps,
                    _ => x -= steps,
                }
            }
        }
    }
    Some((x, y, heading))
}

fn point(x: i64, y: i64) -> String {
    format!("({x}, {y})")
}

impl SpatialItem {
    fn answer(&self) -> Option<String> {
        match self {
            Self::GridTransform { grid, steps } => {
                let grid = parse(grid)?;
                Some(line(&steps.iter().fold(grid, |g, s| apply(&g, *s))))
            }
            Self::GridPath { moves } => {
                let (x, y, _) = walk(moves, false)?;
                Some(point(x, y))
            }
        }
    }
}

pub(super) fn recompute(meta: &Value) -> Option<String> {
    params::<SpatialItem>(meta)?.answer()
}

pub(super) fn generate(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    if coin(rng) {
        transform(difficulty, rng)
    } else {
        path(difficulty, rng)
    }
}

/// All eight images of a grid under rotations and reflections.
fn images(grid: &Grid) -> Vec<Grid> {
    let mut out = vec![grid.clone()];
    for step in [
        Step::Rot90,
        Step::Rot180,
        Step::Rot270,
        Step::MirrorLr,
        Step::MirrorTb,
        Step::Transpose,
    ] {
        out.push(apply(grid, step));
    }
    out.push(apply(&apply(grid, Step::Rot90), Step::MirrorTb)); // the other diagonal
    out
}

fn transform(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    let n = if difficulty == Difficulty::Easy { 3 } else { 4 };
    let filled = if n == 3 {
        between(rng, 3, 5)
    } else {
        between(rng, 5, 8)
    } as usize;
    let mut cells: Vec<bool> = (0..n * n).map(|i| i < filled).collect();
    shuffle(rng, &mut cells);
    let grid: Grid = cells.chunks(n).map(<[bool]>::to_vec).collect();
    let all = images(&grid);
    if (0..all.len()).any(|i| (i + 1..all.len()).any(|j| all[i] == all[j])) {
        return None; // a symmetric grid would make two options the same or two answers right
    }
    let steps: Vec<Step> = match difficulty {
        Difficulty::Easy => vec![*pick(rng, &[Step::Rot90, Step::Rot180, Step::MirrorLr])],
        Difficulty::Medium => vec![*pick(
            rng,
            &[Step::Rot90, Step::Rot270, Step::Rot180, Step::MirrorTb],
        )],
        Difficulty::Hard => {
            let first = *pick(rng, &[Step::Rot90, Step::Rot270, Step::Rot180]);
            vec![first, *pick(rng, &[Step::MirrorLr, Step::MirrorTb])]
        }
    };
    let result = steps.iter().fold(grid.clone(), |g, s| apply(&g, *s));
    // Near misses first: the wrong direction, one step left out, then the other images and
    // the answer with one cell changed.
    let mut near: Vec<Grid> = Vec::new();
    let wrong_way = |s: Step| match s {
        Step::Rot90 => Step::Rot270,
        Step::Rot270 => Step::Rot90,
        Step::MirrorLr => Step::MirrorTb,
        Step::MirrorTb => Step::MirrorLr,
        Step::Rot180 => Step::Transpose,
        Step::Transpose => Step::Rot180,
    };
    near.push(
        steps
            .iter()
            .fold(grid.clone(), |g, s| apply(&g, wrong_way(*s))),
    );
    if steps.len() > 1 {
        near.push(apply(&grid, steps[0]));
        near.push(apply(&grid, steps[1]));
    }
    let mut rest = all.clone();
    shuffle(rng, &mut rest);
    near.extend(rest);
    let mut tweak = result.clone();
    let (r, c) = (below(rng, n), below(rng, n));
    tweak[r][c] = !tweak[r][c];
    near.insert(2.min(near.len()), tweak);
    let distractors = near.iter().filter(|g| **g != result).map(line).collect();
    let rows: Vec<String> = grid
        .iter()
        .map(|r| r.iter().map(|b| if *b { '#' } else { '.' }).collect())
        .collect();
    let how: Vec<&str> = steps.iter().map(|s| describe(*s)).collect();
    let text = format!(
        "Grids are written row by row from the top, rows separated by |, with # for a filled square and . for an empty one. This grid:\n\n{}\n\n(in one line: [{}]) is {}. Which option shows the result?",
        rows.join("\n"),
        rows.join("|"),
        how.join(" and then ")
    );
    let hint = if steps.contains(&Step::Rot90) {
        " (Turning 90° clockwise, the left column, read from the bottom up, becomes the top row.)"
    } else {
        ""
    };
    let item = SpatialItem::GridTransform { grid: rows, steps };
    let correct = item.answer()?;
    Some(Draft {
        text,
        stimulus: None,
        explanation: format!(
            "{} gives [{correct}].{hint}",
            capitalise(&how.join(" and then "))
        ),
        correct,
        distractors,
        metadata: to_meta(&item),
    })
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn path(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    let (forwards, turns): (usize, &[&str]) = match difficulty {
        Difficulty::Easy => (3, &["L", "R"]),
        Difficulty::Medium => (5, &["L", "R"]),
        Difficulty::Hard => (7, &["L", "R", "R", "L", "U"]),
    };
    let mut moves = Vec::new();
    for i in 0..forwards {
        if i > 0 || coin(rng) {
            moves.push((*pick(rng, turns)).to_owned());
        }
        moves.push(format!(
            "F{}",
            between(rng, 1, if difficulty == Difficulty::Easy { 4 } else { 6 })
        ));
    }
    let (x, y, _) = walk(&moves, false)?;
    if (x, y) == (0, 0) {
        return None;
    }
    let (sx, sy, _) = walk(&moves, true)?;
    let without_last = walk(&moves[..moves.len() - 1], false)?;
    let mut near = vec![
        point(sx, sy),
        point(y, x),
        point(without_last.0, without_last.1),
        point(-x, y),
        point(x, -y),
    ];
    near.extend([point(x + 1, y), point(x, y - 1), point(x - 1, y + 1)]);
    let item = SpatialItem::GridPath {
        moves: moves.clone(),
    };
    let correct = item.answer()?;
    Some(Draft {
        text: format!(
            "You stand on square (0, 0) of a grid, facing north; x counts squares to the east and y squares to the north. You follow these moves: {}. (F3 means move forward 3 squares; R and L mean turn 90° right or left on the spot{}.) On which square do you end?",
            moves.join(", "),
            if difficulty == Difficulty::Hard {
                "; U means turn around"
            } else {
                ""
            }
        ),
        stimulus: None,
        explanation: format!("Tracking position and heading move by move ends at {correct}."),
        correct,
        distractors: near,
        metadata: to_meta(&item),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hand_checked_rotation() {
        // #..      .##   (the left column, read bottom-up, becomes the top row)
        // ##.  ->  .#.
        // ...      ...
        let meta =
            json!({"family": "grid_transform", "grid": ["#..", "##.", "..."], "steps": ["rot90"]});
        assert_eq!(recompute(&meta).as_deref(), Some(".##|.#.|..."));
        let meta = json!({"family": "grid_transform", "grid": ["#..", "##.", "..."], "steps": ["mirror_lr"]});
        assert_eq!(recompute(&meta).as_deref(), Some("..#|.##|..."));
        let meta = json!({"family": "grid_transform", "grid": ["#..", "##.", "..."], "steps": ["rot90", "rot270"]});
        assert_eq!(recompute(&meta).as_deref(), Some("#..|##.|..."));
    }

    #[test]
    fn hand_checked_path_and_mutation() {
        let meta = json!({"family": "grid_path", "moves": ["F2", "R", "F3", "L", "F1"]});
        assert_eq!(recompute(&meta).as_deref(), Some("(3, 3)"));
        let meta = json!({"family": "grid_path", "moves": ["F2", "L", "F3", "L", "F1"]});
        assert_eq!(recompute(&meta).as_deref(), Some("(-3, 1)"));
        let meta = json!({"family": "grid_path", "moves": ["F2", "X"]});
        assert_eq!(recompute(&meta), None);
    }
}
