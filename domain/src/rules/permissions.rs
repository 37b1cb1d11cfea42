//! Who may do what. Pure functions over the facts a handler has loaded; unit-tested as tables.

use crate::model::Role;

/// A user's standing in one community.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    pub site_role: Option<Role>,
    pub member: bool,
    pub moderator: Option<ModRole>,
    pub approved: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModRole {
    Owner,
    Moderator,
}

impl ModRole {
    pub fn from_db(raw: &str) -> Self {
        if raw == "owner" {
            ModRole::Owner
        } else {
            ModRole::Moderator
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ModRole::Owner => "owner",
            ModRole::Moderator => "moderator",
        }
    }
}

impl Standing {
    fn admin(&self) -> bool {
        self.site_role == Some(Role::Admin)
    }

    /// Admins moderate every community.
    pub fn moderates(&self) -> bool {
        self.admin() || self.moderator.is_some()
    }

    /// Settings of the community (title, description, rules, flags).
    pub fn can_edit_community(&self) -> bool {
        self.moderates()
    }

    /// Adding and removing moderators: the owner or an admin.
    pub fn can_manage_moderators(&self) -> bool {
        self.admin() || self.moderator == Some(ModRole::Owner)
    }

    /// Approving posters of a restricted community.
    pub fn can_approve(&self) -> bool {
        self.moderates()
    }

    /// Restricted communities take posts from moderators and approved users only.
    pub fn can_post(&self, restricted: bool) -> bool {
        self.site_role.is_some() && (!restricted || self.moderates() || self.approved)
    }
}

/// Only the author edits or deletes their own content.
pub fn is_author(actor: uuid::Uuid, author: Option<uuid::Uuid>) -> bool {
    author == Some(actor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(site: Option<Role>, moderator: Option<ModRole>, approved: bool) -> Standing {
        Standing {
            site_role: site,
            member: true,
            moderator,
            approved,
        }
    }

    #[test]
    fn permission_table() {
        use ModRole::*;
        let user = Some(Role::User);
        let admin = Some(Role::Admin);
        // (standing, edit, manage mods, post open, post restricted)
        let table = [
            (s(None, None, false), false, false, false, false),
            (s(user, None, false), false, false, true, false),
            (s(user, None, true), false, false, true, true),
            (s(user, Some(Moderator), false), true, false, true, true),
            (s(user, Some(Owner), false), true, true, true, true),
            (s(admin, None, false), true, true, true, true),
        ];
        for (standing, edit, manage, open, restricted) in table {
            assert_eq!(standing.can_edit_community(), edit, "{standing:?}");
            assert_eq!(standing.can_approve(), edit, "{standing:?}");
            assert_eq!(standing.can_manage_moderators(), manage, "{standing:?}");
            assert_eq!(standing.can_post(false), open, "{standing:?}");
            assert_eq!(standing.can_post(true), restricted, "{standing:?}");
        }
    }

    #[test]
    fn authorship() {
        let me = uuid::Uuid::now_v7();
        assert!(is_author(me, Some(me)));
        assert!(!is_author(me, Some(uuid::Uuid::now_v7())));
        assert!(!is_author(me, None));
    }
}

impl Standing {
    pub fn is_admin(&self) -> bool {
        self.site_role == Some(Role::Admin)
    }
}

/// A ban is in force until it expires (`None`: never). Checked when used, so no job lifts bans.
pub fn ban_in_force(
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    expires_at.is_none_or(|t| t > now)
}

/// Moderators may pin at most this many posts per community (as on Reddit).
pub const MAX_PINS: i64 = 2;

#[cfg(test)]
mod ban_tests {
    use super::*;
    use chrono::{Duration, Utc};

    #[test]
    fn bans_expire_by_comparison() {
        let now = Utc::now();
        assert!(ban_in_force(None, now));
        assert!(ban_in_force(Some(now + Duration::seconds(1)), now));
        assert!(!ban_in_force(Some(now), now));
        assert!(!ban_in_force(Some(now - Duration::days(1)), now));
    }

    #[test]
    fn admins_are_admins() {
        let admin = Standing {
            site_role: Some(Role::Admin),
            ..Standing::default()
        };
        assert!(admin.is_admin() && admin.moderates());
        let owner = Standing {
            site_role: Some(Role::User),
            moderator: Some(ModRole::Owner),
            ..Standing::default()
        };
        assert!(!owner.is_admin() && owner.moderates());
    }
}
