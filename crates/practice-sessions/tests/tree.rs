//! The goal tree, on SQLite and (with `LIFEOS_TEST_POSTGRES_URL`) PostgreSQL: roots and a
//! full chain UltimateGoal → … → NanoGoal with `root_id` true on every row, sibling order,
//! edits, completion, reordering, moves within a root, the nested tree read; every refusal
//! (a type the hierarchy forbids, a blank name, a deadline before creation, a move to another
//! root, under the goal's own subtree, of a root or a session, a bad reorder list) writes
//! nothing; another user's ids behave as missing ones through every function; the subtree
//! CTE is served by the `parent_id` index, the roots by the `(user_id, parent_id)` index.

use std::collections::HashMap;

use chrono::{SubsecRound, TimeDelta, Utc};
use lifeos_entity::UserId;
use lifeos_practice_sessions::Error;
use lifeos_practice_sessions::entity::goals::{self, GoalType};
use lifeos_practice_sessions::service::tree::{self, GoalEdit};
use lifeos_testkit::TestDb;
use lifeos_testkit::explain::assert_index_serves;
use sea_orm::prelude::Uuid;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder, Set,
};

mod common;
use common::{is_invalid, is_not_found, rows_in, user};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The goals, counted and in full: what a refused call must leave unchanged.
async fn written(
    db: &DatabaseConnection,
) -> Result<(Vec<i64>, Vec<goals::Model>), Box<dyn std::error::Error>> {
    let counts = rows_in(db, &["goals"]).await?;
    let rows = goals::Entity::find()
        .order_by_asc(goals::Column::Id)
        .all(db)
        .await?;
    Ok((counts, rows))
}

/// The error of a call that must be refused.
fn refused<T: std::fmt::Debug>(
    what: &str,
    result: Result<T, Error>,
) -> Result<Error, Box<dyn std::error::Error>> {
    match result {
        Ok(value) => Err(format!("{what} was accepted: {value:?}").into()),
        Err(error) => Ok(error),
    }
}

/// One goal of every type below a root, each the child of the one before.
struct Chain {
    root: goals::Model,
    long: goals::Model,
    mid: goals::Model,
    short: goals::Model,
    immediate: goals::Model,
    micro: goals::Model,
    nano: goals::Model,
}

impl Chain {
    /// Every goal of the chain, root first.
    fn all(&self) -> [&goals::Model; 7] {
        [
            &self.root,
            &self.long,
            &self.mid,
            &self.short,
            &self.immediate,
            &self.micro,
            &self.nano,
        ]
    }
}

/// A new root `name` of `owner` with a chain of goals down to a `NanoGoal`.
async fn chain(
    db: &DatabaseConnection,
    owner: UserId,
    name: &str,
) -> Result<Chain, Box<dyn std::error::Error>> {
    let root = tree::create_root(db, owner, name).await?;
    let long = tree::create_child(db, owner, root.id, GoalType::LongTermGoal, "Long").await?;
    let mid = tree::create_child(db, owner, long.id, GoalType::MidTermGoal, "Mid").await?;
    let short = tree::create_child(db, owner, mid.id, GoalType::ShortTermGoal, "Short").await?;
    let immediate =
        tree::create_child(db, owner, short.id, GoalType::ImmediateGoal, "Immediate").await?;
    let micro = tree::create_child(db, owner, immediate.id, GoalType::MicroGoal, "Micro").await?;
    let nano = tree::create_child(db, owner, micro.id, GoalType::NanoGoal, "Nano").await?;
    Ok(Chain {
        root,
        long,
        mid,
        short,
        immediate,
        micro,
        nano,
    })
}

/// A practice session of `owner` in `root`, inserted as the sessions service would (a
/// parentless goal whose `root_id` is the root of its short-term goals).
async fn session(
    db: &DatabaseConnection,
    owner: UserId,
    root: Uuid,
) -> Result<goals::Model, Box<dyn std::error::Error>> {
    let now = Utc::now().trunc_subsecs(6);
    Ok(goals::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(owner),
        goal_type: Set(GoalType::PracticeSession),
        name: Set("Morning practice".to_owned()),
        description: Set(None),
        completed: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        parent_id: Set(None),
        root_id: Set(root),
        sort_order: Set(0),
        total_paused_seconds: Set(0),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// The ids of `goals`.
fn ids<'a>(models: impl IntoIterator<Item = &'a goals::Model>) -> Vec<Uuid> {
    models.into_iter().map(|goal| goal.id).collect()
}

/// Checks every goal's `root_id` against its true root, found by walking up `parent_id`: a
/// root's own id; below a practice session, the session's root.
async fn assert_true_roots(db: &DatabaseConnection) -> TestResult {
    let all = goals::Entity::find().all(db).await?;
    let by_id: HashMap<Uuid, &goals::Model> = all.iter().map(|goal| (goal.id, goal)).collect();
    for goal in &all {
        let mut top = goal;
        let mut steps = 0;
        while let Some(parent) = top.parent_id {
            top = by_id
                .get(&parent)
                .copied()
                .ok_or("a goal's parent is missing")?;
            steps += 1;
            if steps > 64 {
                return Err(format!("goal {} sits on a cycle", goal.id).into());
            }
        }
        let expected = if top.goal_type == GoalType::PracticeSession {
            top.root_id
        } else {
            top.id
        };
        assert_eq!(
            goal.root_id, expected,
            "root_id of {} ({})",
            goal.id, goal.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn roots_and_a_full_chain_carry_their_root_and_their_order() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let music = tree::create_root(&*db, ann, "  Music  ").await?;
    assert_eq!(music.name, "Music");
    assert_eq!(music.goal_type, GoalType::UltimateGoal);
    assert_eq!(music.user_id, ann);
    assert_eq!(music.parent_id, None);
    assert_eq!(music.root_id, music.id, "a root points at itself");
    assert_eq!(music.sort_order, 0);
    assert!(!music.completed);
    assert_eq!(music.deleted_at, None);
    assert_eq!(tree::get(&*db, ann, music.id).await?, music);
    let sport = tree::create_root(&*db, ann, "Sport").await?;
    assert_eq!(sport.sort_order, 1, "after the user's other root");

    let chain = chain(&db, ann, "Languages").await?;
    assert_eq!(chain.root.sort_order, 2);
    let types = [
        GoalType::UltimateGoal,
        GoalType::LongTermGoal,
        GoalType::MidTermGoal,
        GoalType::ShortTermGoal,
        GoalType::ImmediateGoal,
        GoalType::MicroGoal,
        GoalType::NanoGoal,
    ];
    let chained = chain.all();
    for (goal, goal_type) in chained.iter().zip(types) {
        assert_eq!(goal.goal_type, goal_type);
        assert_eq!(goal.root_id, chain.root.id, "{goal_type:?}");
        if goal_type != GoalType::UltimateGoal {
            assert_eq!(
                goal.sort_order, 0,
                "{goal_type:?} is its parent's first child"
            );
        }
        assert_eq!(tree::get(&*db, ann, goal.id).await?, **goal);
    }
    for pair in chained.windows(2) {
        assert_eq!(pair[1].parent_id, Some(pair[0].id));
    }

    // Siblings go after each other.
    let second =
        tree::create_child(&*db, ann, chain.root.id, GoalType::LongTermGoal, "Second").await?;
    assert_eq!(second.sort_order, 1);
    let third =
        tree::create_child(&*db, ann, chain.root.id, GoalType::LongTermGoal, "Third").await?;
    assert_eq!(third.sort_order, 2);
    let step =
        tree::create_child(&*db, ann, chain.short.id, GoalType::ImmediateGoal, "Step").await?;
    assert_eq!((step.sort_order, step.root_id), (1, chain.root.id));

    assert_eq!(
        tree::roots(&*db, ann).await?,
        vec![music, sport, chain.root.clone()]
    );
    assert_eq!(
        ids(&tree::children(&*db, ann, chain.root.id).await?),
        vec![chain.long.id, second.id, third.id]
    );
    assert_eq!(
        ids(&tree::children(&*db, ann, chain.short.id).await?),
        vec![chain.immediate.id, step.id]
    );
    assert!(tree::children(&*db, ann, chain.nano.id).await?.is_empty());
    assert_true_roots(&db).await
}

#[tokio::test]
async fn goals_are_edited_completed_and_uncompleted() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let root = tree::create_root(&*db, ann, "Music").await?;
    let goal = tree::create_child(&*db, ann, root.id, GoalType::LongTermGoal, "Bach").await?;
    let deadline = goal.created_at + TimeDelta::try_days(30).ok_or("days")?;
    let edited = tree::edit(
        &*db,
        ann,
        goal.id,
        GoalEdit {
            name: Some(" Play the suites ".to_owned()),
            description: Some(Some("  All six  ".to_owned())),
            deadline: Some(Some(deadline)),
        },
    )
    .await?;
    assert_eq!(edited.name, "Play the suites");
    assert_eq!(edited.description.as_deref(), Some("All six"));
    assert_eq!(edited.deadline, Some(deadline));
    assert_eq!(edited.created_at, goal.created_at);
    assert!(edited.updated_at >= goal.updated_at);
    assert_eq!(
        (edited.parent_id, edited.root_id, edited.sort_order),
        (goal.parent_id, goal.root_id, goal.sort_order)
    );
    assert_eq!(tree::get(&*db, ann, goal.id).await?, edited);

    // An empty edit changes nothing; a blank description and `Some(None)` remove.
    assert_eq!(
        tree::edit(&*db, ann, goal.id, GoalEdit::default()).await?,
        edited
    );
    let blank = tree::edit(
        &*db,
        ann,
        goal.id,
        GoalEdit {
            description: Some(Some("   ".to_owned())),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(blank.description, None);
    assert_eq!(blank.deadline, Some(deadline));
    let cleared = tree::edit(
        &*db,
        ann,
        goal.id,
        GoalEdit {
            deadline: Some(None),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(cleared.deadline, None);
    assert_eq!(cleared.name, "Play the suites");
    // A deadline at the very instant of creation is allowed.
    let at_creation = tree::edit(
        &*db,
        ann,
        goal.id,
        GoalEdit {
            deadline: Some(Some(goal.created_at)),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(at_creation.deadline, Some(goal.created_at));

    let done = tree::set_completed(&*db, ann, goal.id, true).await?;
    assert!(done.completed);
    assert_eq!(tree::get(&*db, ann, goal.id).await?, done);
    assert_eq!(
        tree::set_completed(&*db, ann, goal.id, true).await?,
        done,
        "completing a completed goal changes nothing"
    );
    let undone = tree::set_completed(&*db, ann, goal.id, false).await?;
    assert!(!undone.completed);
    assert_eq!(tree::get(&*db, ann, goal.id).await?, undone);
    // A root completes too.
    assert!(
        tree::set_completed(&*db, ann, root.id, true)
            .await?
            .completed
    );
    Ok(())
}

#[tokio::test]
async fn siblings_are_reordered() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let root = tree::create_root(&*db, ann, "Music").await?;
    let mut made = Vec::new();
    for name in ["A", "B", "C"] {
        made.push(tree::create_child(&*db, ann, root.id, GoalType::LongTermGoal, name).await?);
    }
    let (a, b, c) = (made[0].clone(), made[1].clone(), made[2].clone());
    let reordered = tree::reorder(&*db, ann, root.id, &[c.id, a.id, b.id]).await?;
    assert_eq!(ids(&reordered), vec![c.id, a.id, b.id]);
    assert_eq!(
        reordered
            .iter()
            .map(|goal| goal.sort_order)
            .collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(tree::children(&*db, ann, root.id).await?, reordered);
    // The same order again writes nothing.
    assert_eq!(
        tree::reorder(&*db, ann, root.id, &[c.id, a.id, b.id]).await?,
        reordered
    );
    // A new sibling goes last; a goal without children reorders to nothing.
    let d = tree::create_child(&*db, ann, root.id, GoalType::LongTermGoal, "D").await?;
    assert_eq!(d.sort_order, 3);
    assert!(tree::reorder(&*db, ann, d.id, &[]).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_subtree_moves_within_its_root() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let chain = chain(&db, ann, "Music").await?;
    let other_mid =
        tree::create_child(&*db, ann, chain.long.id, GoalType::MidTermGoal, "Other mid").await?;
    let sibling =
        tree::create_child(&*db, ann, other_mid.id, GoalType::ShortTermGoal, "Sibling").await?;

    // The short-term goal, with its immediate, micro and nano goals, moves to the other mid.
    let moved = tree::move_subtree(&*db, ann, chain.short.id, other_mid.id).await?;
    assert_eq!(moved.parent_id, Some(other_mid.id));
    assert_eq!(moved.sort_order, 1, "last among its new siblings");
    assert_eq!(moved.root_id, chain.root.id);
    assert!(moved.updated_at >= chain.short.updated_at);
    assert_eq!(tree::get(&*db, ann, chain.short.id).await?, moved);
    assert!(tree::children(&*db, ann, chain.mid.id).await?.is_empty());
    assert_eq!(
        ids(&tree::children(&*db, ann, other_mid.id).await?),
        vec![sibling.id, chain.short.id]
    );
    let subtree = tree::tree(&*db, ann, other_mid.id).await?;
    assert_eq!(
        ids(subtree.flatten()),
        vec![
            other_mid.id,
            sibling.id,
            chain.short.id,
            chain.immediate.id,
            chain.micro.id,
            chain.nano.id
        ]
    );
    // The descendants did not change.
    for goal in [&chain.immediate, &chain.micro, &chain.nano] {
        assert_eq!(tree::get(&*db, ann, goal.id).await?, *goal);
    }

    // An immediate goal moves between a short-term goal and a practice session of the root.
    let practice = session(&db, ann, chain.root.id).await?;
    let focus =
        tree::create_child(&*db, ann, practice.id, GoalType::ImmediateGoal, "Focus").await?;
    assert_eq!(
        focus.root_id, chain.root.id,
        "a session's child has its root"
    );
    let to_session = tree::move_subtree(&*db, ann, chain.immediate.id, practice.id).await?;
    assert_eq!(to_session.parent_id, Some(practice.id));
    assert_eq!(to_session.sort_order, 1);
    let session_tree = tree::tree(&*db, ann, practice.id).await?;
    assert_eq!(session_tree.goal, practice);
    assert_eq!(
        ids(session_tree.flatten()),
        vec![
            practice.id,
            focus.id,
            chain.immediate.id,
            chain.micro.id,
            chain.nano.id
        ]
    );
    let back = tree::move_subtree(&*db, ann, focus.id, sibling.id).await?;
    assert_eq!((back.parent_id, back.sort_order), (Some(sibling.id), 0));

    // A move under the goal's current parent puts it last.
    let again = tree::move_subtree(&*db, ann, sibling.id, other_mid.id).await?;
    assert_eq!(again.sort_order, 2);
    assert_eq!(
        ids(&tree::children(&*db, ann, other_mid.id).await?),
        vec![chain.short.id, sibling.id]
    );
    assert_true_roots(&db).await
}

#[tokio::test]
async fn the_tree_is_read_nested_and_ordered() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let root = tree::create_root(&*db, ann, "Music").await?;
    let mut longs = Vec::new();
    for name in ["A", "B", "C"] {
        longs.push(tree::create_child(&*db, ann, root.id, GoalType::LongTermGoal, name).await?);
    }
    let (a, b, c) = (longs[0].id, longs[1].id, longs[2].id);
    tree::reorder(&*db, ann, root.id, &[b, c, a]).await?;
    let first = tree::create_child(&*db, ann, b, GoalType::MidTermGoal, "B1").await?;
    let second = tree::create_child(&*db, ann, b, GoalType::MidTermGoal, "B2").await?;
    tree::reorder(&*db, ann, b, &[second.id, first.id]).await?;
    let short = tree::create_child(&*db, ann, second.id, GoalType::ShortTermGoal, "S").await?;
    let step = tree::create_child(&*db, ann, short.id, GoalType::ImmediateGoal, "I").await?;
    // A deleted goal (a leaf: deletes take subtrees) is left out.
    let gone = tree::create_child(&*db, ann, c, GoalType::MidTermGoal, "Gone").await?;
    let mut deleting: goals::ActiveModel = gone.clone().into();
    deleting.deleted_at = Set(Some(Utc::now().trunc_subsecs(6)));
    deleting.update(&*db).await?;

    let whole = tree::tree(&*db, ann, root.id).await?;
    assert_eq!(whole.goal, tree::get(&*db, ann, root.id).await?);
    assert_eq!(
        whole
            .children
            .iter()
            .map(|child| child.goal.id)
            .collect::<Vec<_>>(),
        vec![b, c, a]
    );
    assert_eq!(
        ids(whole.flatten()),
        vec![root.id, b, second.id, short.id, step.id, first.id, c, a]
    );
    // Every node is the goal as `get` reads it.
    for node in whole.flatten() {
        assert_eq!(*node, tree::get(&*db, ann, node.id).await?);
    }
    let b_tree = whole.children.first().ok_or("no first child")?;
    assert_eq!(
        b_tree
            .children
            .iter()
            .map(|child| child.goal.id)
            .collect::<Vec<_>>(),
        vec![second.id, first.id]
    );
    let c_tree = whole.children.get(1).ok_or("no second child")?;
    assert!(c_tree.children.is_empty(), "the deleted goal is left out");

    // A subtree, and a leaf.
    assert_eq!(
        ids(tree::tree(&*db, ann, b).await?.flatten()),
        vec![b, second.id, short.id, step.id, first.id]
    );
    let leaf = tree::tree(&*db, ann, step.id).await?;
    assert_eq!((leaf.goal.id, leaf.children.len()), (step.id, 0));

    // The deleted goal is missing for every read.
    assert!(is_not_found(&refused(
        "tree",
        tree::tree(&*db, ann, gone.id).await
    )?));
    assert!(is_not_found(&refused(
        "get",
        tree::get(&*db, ann, gone.id).await
    )?));
    assert!(tree::children(&*db, ann, c).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn refused_changes_write_nothing() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let chain = chain(&db, ann, "Music").await?;
    let second =
        tree::create_child(&*db, ann, chain.root.id, GoalType::LongTermGoal, "Second").await?;
    let sport = tree::create_root(&*db, ann, "Sport").await?;
    let running = tree::create_child(&*db, ann, sport.id, GoalType::LongTermGoal, "Run").await?;
    let practice = session(&db, ann, chain.root.id).await?;
    let before = written(&db).await?;

    // Types the hierarchy forbids.
    for (parent, child) in [
        (&chain.root, GoalType::MidTermGoal),
        (&chain.root, GoalType::UltimateGoal),
        (&chain.short, GoalType::PracticeSession),
        (&chain.long, GoalType::PracticeSession),
        (&chain.short, GoalType::MicroGoal),
        (&chain.nano, GoalType::NanoGoal),
        (&practice, GoalType::MicroGoal),
    ] {
        let error = refused(
            "a forbidden child",
            tree::create_child(&*db, ann, parent.id, child, "Nope").await,
        )?;
        assert!(
            matches!(error, Error::Hierarchy { parent: Some(p), child: c }
                if p == parent.goal_type && c == child),
            "{child:?} under {:?}: {error:?}",
            parent.goal_type
        );
    }
    assert!(tree::allowed_children(GoalType::NanoGoal).is_empty());

    // Names.
    let long_name = "x".repeat(201);
    for name in ["", "   ", long_name.as_str(), "a\0b"] {
        let error = refused("a bad root name", tree::create_root(&*db, ann, name).await)?;
        assert!(is_invalid(&error, "name"), "{error:?}");
        let error = refused(
            "a bad child name",
            tree::create_child(&*db, ann, chain.root.id, GoalType::LongTermGoal, name).await,
        )?;
        assert!(is_invalid(&error, "name"), "{error:?}");
        let error = refused(
            "a bad new name",
            tree::edit(
                &*db,
                ann,
                chain.long.id,
                GoalEdit {
                    name: Some(name.to_owned()),
                    ..Default::default()
                },
            )
            .await,
        )?;
        assert!(is_invalid(&error, "name"), "{error:?}");
    }

    // A deadline before the goal was created.
    let early = chain.long.created_at - TimeDelta::try_seconds(1).ok_or("seconds")?;
    let error = refused(
        "an early deadline",
        tree::edit(
            &*db,
            ann,
            chain.long.id,
            GoalEdit {
                name: Some("Renamed".to_owned()),
                deadline: Some(Some(early)),
                ..Default::default()
            },
        )
        .await,
    )?;
    assert!(is_invalid(&error, "deadline"), "{error:?}");

    // Moves: to another root, under the goal itself or its subtree, of a root or a session,
    // under a type that does not take it, under a missing goal.
    let error = refused(
        "a move to another root",
        tree::move_subtree(&*db, ann, chain.mid.id, running.id).await,
    )?;
    assert!(
        matches!(
            error,
            Error::CrossRoot {
                what: "moving a goal"
            }
        ),
        "{error:?}"
    );
    for (goal, under) in [
        (&chain.long, &chain.long),
        (&chain.long, &chain.mid),
        (&chain.long, &chain.short),
        (&chain.mid, &chain.nano),
    ] {
        let error = refused(
            "a move under its own subtree",
            tree::move_subtree(&*db, ann, goal.id, under.id).await,
        )?;
        assert!(
            matches!(error, Error::Cycle { goal: g } if g == goal.id),
            "{error:?}"
        );
    }
    for (goal, under) in [
        (&chain.root, &running),
        (&chain.root, &chain.long),
        (&sport, &chain.root),
        (&practice, &chain.short),
    ] {
        let error = refused(
            "a move of a parentless goal",
            tree::move_subtree(&*db, ann, goal.id, under.id).await,
        )?;
        assert!(
            matches!(error, Error::Hierarchy { parent: Some(p), child: c }
                if p == under.goal_type && c == goal.goal_type),
            "{error:?}"
        );
    }
    for (goal, under) in [
        (&chain.mid, &chain.root),
        (&chain.immediate, &chain.mid),
        (&second, &chain.long),
    ] {
        let error = refused(
            "a move under a type that does not take it",
            tree::move_subtree(&*db, ann, goal.id, under.id).await,
        )?;
        assert!(
            matches!(error, Error::Hierarchy { parent: Some(p), child: c }
                if p == under.goal_type && c == goal.goal_type),
            "{error:?}"
        );
    }
    let missing = Uuid::now_v7();
    for result in [
        tree::move_subtree(&*db, ann, chain.mid.id, missing).await,
        tree::move_subtree(&*db, ann, missing, chain.long.id).await,
    ] {
        assert!(is_not_found(&refused(
            "a move with a missing goal",
            result
        )?));
    }
    assert!(is_not_found(&refused(
        "a child of a missing goal",
        tree::create_child(&*db, ann, missing, GoalType::LongTermGoal, "Lost").await,
    )?));

    // Reorder lists that are not exactly the children, each once.
    let (long, other) = (chain.long.id, second.id);
    for order in [
        vec![],
        vec![long],
        vec![long, long],
        vec![long, running.id],
        vec![long, other, chain.mid.id],
        vec![long, other, long],
        vec![long, missing],
    ] {
        let error = refused(
            "a bad order",
            tree::reorder(&*db, ann, chain.root.id, &order).await,
        )?;
        assert!(is_invalid(&error, "order"), "{order:?}: {error:?}");
    }

    assert_eq!(
        written(&db).await?,
        before,
        "a refused call wrote something"
    );
    assert_true_roots(&db).await
}

#[tokio::test]
async fn another_users_goals_behave_as_missing_ones() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let anns = chain(&db, ann, "Ann's music").await?;
    let practice = session(&db, ann, anns.root.id).await?;
    let bobs = chain(&db, bob, "Bob's music").await?;
    let before = written(&db).await?;

    let mut theirs: Vec<&goals::Model> = anns.all().to_vec();
    theirs.push(&practice);
    for goal in theirs {
        let id = goal.id;
        let child_type = tree::allowed_children(goal.goal_type)
            .first()
            .copied()
            .unwrap_or(GoalType::NanoGoal);
        let their_children = ids(&tree::children(&*db, ann, id).await?);
        let rename = GoalEdit {
            name: Some("Mallory's".to_owned()),
            ..Default::default()
        };
        let errors: Vec<(&str, Option<Error>)> = vec![
            ("get", tree::get(&*db, bob, id).await.err()),
            ("children", tree::children(&*db, bob, id).await.err()),
            ("tree", tree::tree(&*db, bob, id).await.err()),
            (
                "create_child",
                tree::create_child(&*db, bob, id, child_type, "Mine")
                    .await
                    .err(),
            ),
            ("edit", tree::edit(&*db, bob, id, rename).await.err()),
            (
                "set_completed",
                tree::set_completed(&*db, bob, id, true).await.err(),
            ),
            (
                "reorder",
                tree::reorder(&*db, bob, id, &their_children).await.err(),
            ),
            (
                "move_subtree (theirs)",
                tree::move_subtree(&*db, bob, id, bobs.long.id).await.err(),
            ),
            (
                "move_subtree (under theirs)",
                tree::move_subtree(&*db, bob, bobs.mid.id, id).await.err(),
            ),
            (
                "move_subtree (under theirs, short)",
                tree::move_subtree(&*db, bob, bobs.immediate.id, id)
                    .await
                    .err(),
            ),
        ];
        for (what, error) in errors {
            let error = error.ok_or(format!("{what} accepted {:?}", goal.goal_type))?;
            assert!(
                is_not_found(&error),
                "{what} on {:?}: {error:?}",
                goal.goal_type
            );
        }
    }
    assert_eq!(tree::roots(&*db, bob).await?, vec![bobs.root.clone()]);
    assert_eq!(tree::roots(&*db, ann).await?, vec![anns.root.clone()]);
    assert_eq!(
        ids(tree::tree(&*db, bob, bobs.root.id).await?.flatten()),
        ids(bobs.all())
    );
    assert_eq!(
        written(&db).await?,
        before,
        "another user's call wrote something"
    );
    Ok(())
}

/// A goal of `owner` for the bulk data of the query-plan test, as `create_child` writes it.
fn bulk_goal(
    owner: UserId,
    goal_type: GoalType,
    id: Uuid,
    parent: Uuid,
    root: Uuid,
    place: i32,
) -> goals::ActiveModel {
    let now = Utc::now().trunc_subsecs(6);
    goals::ActiveModel {
        id: Set(id),
        user_id: Set(owner),
        goal_type: Set(goal_type),
        name: Set(format!("{goal_type:?} {place}")),
        description: Set(None),
        completed: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        parent_id: Set(Some(parent)),
        root_id: Set(root),
        sort_order: Set(place),
        total_paused_seconds: Set(0),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_subtree_is_read_through_the_parent_index() -> TestResult {
    let db = TestDb::at_head().await?;
    let backend = db.get_database_backend();
    // Three users with two roots each (made by the service), and under each root 8 long-term
    // goals with 8 mid-term goals of 6 short-term goals each (inserted in bulk, parents
    // first): 2,742 goals, enough that reading a whole level of the table costs the planner
    // more than looking up each level's children; then statistics.
    let mut rows = Vec::new();
    let mut subject = None;
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        let owner = user(&db, email).await?;
        for r in 0..2 {
            let root = tree::create_root(&*db, owner, &format!("Root {r}"))
                .await?
                .id;
            for l in 0..8 {
                let long = Uuid::now_v7();
                rows.push(bulk_goal(
                    owner,
                    GoalType::LongTermGoal,
                    long,
                    root,
                    root,
                    l,
                ));
                for m in 0..8 {
                    let mid = Uuid::now_v7();
                    rows.push(bulk_goal(owner, GoalType::MidTermGoal, mid, long, root, m));
                    for s in 0..6 {
                        let short = Uuid::now_v7();
                        rows.push(bulk_goal(
                            owner,
                            GoalType::ShortTermGoal,
                            short,
                            mid,
                            root,
                            s,
                        ));
                    }
                }
                subject = Some((owner, long));
            }
        }
    }
    for chunk in rows.chunks(400) {
        goals::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&*db)
            .await?;
    }
    assert_eq!(rows_in(&db, &["goals"]).await?, vec![2742]);
    db.execute_unprepared("ANALYZE").await?;

    let (owner, long) = subject.ok_or("no subject")?;
    let sql = tree::subtree_statement(backend, owner, long).to_string();
    // The recursive step joins each level's children by `parent_id`; `idx_goals_parent_type`
    // (parent_id, type) serves that join by the same column, should the planner prefer it.
    if let Err(first) = assert_index_serves(&db, &sql, "idx_goals_parent_id", "parent_id").await {
        assert_index_serves(&db, &sql, "idx_goals_parent_type", "parent_id")
            .await
            .map_err(|_| first)?;
    }
    let read = tree::tree(&*db, owner, long).await?;
    assert_eq!(
        read.flatten().len(),
        57,
        "a long-term goal, 8 mid, 48 short"
    );
    assert_eq!(read.children.len(), 8);
    let places: Vec<i32> = read
        .children
        .iter()
        .map(|child| child.goal.sort_order)
        .collect();
    assert_eq!(places, (0..8).collect::<Vec<_>>());
    Ok(())
}

#[tokio::test]
async fn the_roots_are_read_through_the_user_parent_index() -> TestResult {
    let db = TestDb::at_head().await?;
    let backend = db.get_database_backend();
    // Twenty users with two roots each (made by the service) and ten practice sessions each
    // (parentless too), and under each root 8 long-term goals of 8 mid-term goals each
    // (inserted in bulk, parents first): 3,120 goals, 240 of them parentless — so that
    // "parentless" alone narrows little and the user's key serves; then statistics.
    let mut rows = Vec::new();
    let mut subject = None;
    for n in 0..20 {
        let email = format!("user{n}@example.com");
        let owner = user(&db, &email).await?;
        let mut roots = Vec::new();
        for r in 0..2 {
            let root = tree::create_root(&*db, owner, &format!("Root {r}")).await?;
            for l in 0..8 {
                let long = Uuid::now_v7();
                rows.push(bulk_goal(
                    owner,
                    GoalType::LongTermGoal,
                    long,
                    root.id,
                    root.id,
                    l,
                ));
                for m in 0..8 {
                    rows.push(bulk_goal(
                        owner,
                        GoalType::MidTermGoal,
                        Uuid::now_v7(),
                        long,
                        root.id,
                        m,
                    ));
                }
            }
            roots.push(root);
        }
        let first = roots.first().ok_or("no root")?.id;
        for _ in 0..10 {
            session(&db, owner, first).await?;
        }
        subject = Some((owner, roots));
    }
    for chunk in rows.chunks(400) {
        goals::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&*db)
            .await?;
    }
    assert_eq!(rows_in(&db, &["goals"]).await?, vec![3120]);
    db.execute_unprepared("ANALYZE").await?;

    let (owner, roots) = subject.ok_or("no subject")?;
    let sql = tree::roots_sql(backend, owner);
    // An index bounds the search: the user's parentless goals (SQLite), or — PostgreSQL's
    // choice while parentless goals are few — every user's parentless goals.
    if assert_index_serves(&db, &sql, "idx_goals_user_parent", "user_id")
        .await
        .is_err()
    {
        assert_index_serves(&db, &sql, "idx_goals_parent_id", "parent_id").await?;
    }
    assert_eq!(
        tree::roots(&*db, owner).await?,
        roots,
        "the user's roots, in order, without the sessions"
    );
    Ok(())
}

#[tokio::test]
async fn roots_are_reordered_and_a_wrong_list_writes_nothing() -> TestResult {
    let db = TestDb::at_head().await?;
    let ann = user(&db, "ann@example.com").await?;
    let bob = user(&db, "bob@example.com").await?;
    let music = tree::create_root(&*db, ann, "Music").await?;
    let sport = tree::create_root(&*db, ann, "Sport").await?;
    let chess = tree::create_root(&*db, ann, "Chess").await?;
    let reordered = tree::reorder_roots(&*db, ann, &[chess.id, music.id, sport.id]).await?;
    let ids = |goals: &[goals::Model]| goals.iter().map(|goal| goal.id).collect::<Vec<_>>();
    assert_eq!(ids(&reordered), vec![chess.id, music.id, sport.id]);
    assert_eq!(ids(&tree::roots(&*db, ann).await?), ids(&reordered));

    let before = tree::roots(&*db, ann).await?;
    for order in [
        vec![chess.id, music.id],
        vec![chess.id, chess.id, music.id],
        vec![chess.id, music.id, Uuid::now_v7()],
    ] {
        let refused = tree::reorder_roots(&*db, ann, &order).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|error| is_invalid(error, "order")),
            "{order:?}: {refused:?}"
        );
        assert_eq!(tree::roots(&*db, ann).await?, before);
    }
    // Another user's roots are not his to order: as unknown ids.
    let refused = tree::reorder_roots(&*db, bob, &[chess.id, music.id, sport.id]).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|error| is_invalid(error, "order")),
        "{refused:?}"
    );
    assert_eq!(tree::roots(&*db, ann).await?, before);
    Ok(())
}
