//! Comment-tree assembly: rows fetched level by level (each level's children already in sort
//! order) become nested comments with `more` markers for every left-out reply.

use std::collections::HashMap;

use uuid::Uuid;

use crate::model::{Comment, More};

/// What the assembler needs of a fetched row.
pub trait Node {
    fn id(&self) -> Uuid;
    fn parent_id(&self) -> Option<Uuid>;
    fn reply_count(&self) -> i64;
    fn into_comment(self) -> Comment;
}

/// Builds the nested replies of `roots` from `descendants`. `expanded` holds the nodes whose
/// children were fetched (the first `n` of them, in order); a node whose children were not
/// fetched gets a `more` for all of them. `cursor(parent, last_child)` makes the continuation
/// cursor after `last_child` (or from the start when `None`).
pub fn assemble<N: Node>(
    roots: Vec<N>,
    descendants: Vec<N>,
    expanded: &std::collections::HashSet<Uuid>,
    cursor: &dyn Fn(Uuid, Option<&N>) -> String,
) -> Vec<Comment> {
    let mut children: HashMap<Uuid, Vec<N>> = HashMap::new();
    for node in descendants {
        if let Some(parent) = node.parent_id() {
            children.entry(parent).or_default().push(node);
        }
    }
    roots
        .into_iter()
        .map(|n| build(n, &mut children, expanded, cursor))
        .collect()
}

fn build<N: Node>(
    node: N,
    children: &mut HashMap<Uuid, Vec<N>>,
    expanded: &std::collections::HashSet<Uuid>,
    cursor: &dyn Fn(Uuid, Option<&N>) -> String,
) -> Comment {
    let id = node.id();
    let reply_count = node.reply_count();
    let kids = children.remove(&id).unwrap_or_default();
    let shown = kids.len() as i64;
    let more = if reply_count > shown {
        let after = if expanded.contains(&id) {
            kids.last()
        } else {
            None
        };
        Some(More {
            count: reply_count - shown,
            parent_id: Some(id),
            cursor: cursor(id, after),
        })
    } else {
        None
    };
    let mut comment = node.into_comment();
    comment.more = more;
    comment.replies = kids
        .into_iter()
        .map(|k| build(k, children, expanded, cursor))
        .collect();
    comment
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::Utc;

    use super::*;

    struct Row {
        id: Uuid,
        parent: Option<Uuid>,
        replies: i64,
    }

    impl Node for Row {
        fn id(&self) -> Uuid {
            self.id
        }
        fn parent_id(&self) -> Option<Uuid> {
            self.parent
        }
        fn reply_count(&self) -> i64 {
            self.replies
        }
        fn into_comment(self) -> Comment {
            Comment {
                id: self.id,
                post_id: Uuid::nil(),
                parent_id: self.parent,
                depth: 0,
                author: None,
                body: String::new(),
                body_html: String::new(),
                score: 0,
                upvotes: 0,
                downvotes: 0,
                my_vote: 0,
                created_at: Utc::now(),
                edited_at: None,
                removed: false,
                deleted: false,
                reply_count: self.replies,
                replies: Vec::new(),
                more: None,
                report_count: None,
            }
        }
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn nests_children_in_order_and_marks_what_is_left_out() {
        // 1 has three replies (2, 3 shown; one more), 2 has one reply not fetched (level cut),
        // 3 has one reply shown, 4 is a leaf.
        let roots = vec![
            Row {
                id: id(1),
                parent: None,
                replies: 3,
            },
            Row {
                id: id(9),
                parent: None,
                replies: 0,
            },
        ];
        let descendants = vec![
            Row {
                id: id(2),
                parent: Some(id(1)),
                replies: 1,
            },
            Row {
                id: id(3),
                parent: Some(id(1)),
                replies: 1,
            },
            Row {
                id: id(4),
                parent: Some(id(3)),
                replies: 0,
            },
        ];
        let expanded: HashSet<Uuid> = [id(1), id(3)].into();
        let cursor =
            |parent: Uuid, after: Option<&Row>| format!("{parent}>{:?}", after.map(|r| r.id));
        let tree = assemble(roots, descendants, &expanded, &cursor);

        assert_eq!(tree.len(), 2);
        let one = &tree[0];
        assert_eq!(
            one.replies.iter().map(|c| c.id).collect::<Vec<_>>(),
            [id(2), id(3)]
        );
        let more = one.more.as_ref().unwrap();
        assert_eq!(more.count, 1);
        assert_eq!(more.parent_id, Some(id(1)));
        assert_eq!(
            more.cursor,
            format!("{}>{:?}", id(1), Some(id(3))),
            "continues after the last shown child"
        );
        // 2's reply was never fetched: more from the start.
        let two = &one.replies[0];
        assert!(two.replies.is_empty());
        assert_eq!(two.more.as_ref().unwrap().cursor, format!("{}>None", id(2)));
        // 3 shows its only reply; nothing more.
        let three = &one.replies[1];
        assert_eq!(three.replies[0].id, id(4));
        assert!(three.more.is_none());
        assert!(tree[1].more.is_none());
    }
}
