//! Users, API tokens and sign-in sessions.

use crate::fixtures::t;
use crate::harness::Db;
use cambium_store::{Error, Store, LAST_USED_GRANULARITY};
use sqlx::Row;

contract!(
    deleting_a_user_ends_its_tokens_and_sessions,
    users_are_created_and_read_back,
    a_taken_name_is_user_exists,
    concurrent_creates_of_one_name_make_one_user,
    password_and_role_change,
    tokens_find_their_user,
    token_use_is_noted_coarsely,
    tokens_need_a_user,
    sessions_find_their_user_until_they_expire,
    sessions_are_deleted,
    sessions_need_a_user,
    tokens_expire,
    tokens_are_listed_and_revoked,
    a_password_change_ends_the_users_sessions,
);

const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

/// `last_used_at` of a token, read past the store's API.
async fn last_used(db: &Db, token_hash: &str) -> Option<i64> {
    let pool = sqlx::AnyPool::connect(&db.url).await.expect("connect");
    let row = sqlx::query("SELECT last_used_at FROM api_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_one(&pool)
        .await
        .expect("token row");
    let value: Option<i64> = row.try_get("last_used_at").expect("last_used_at");
    pool.close().await;
    value
}

fn micros(secs: i64) -> i64 {
    t(secs).timestamp_micros()
}

async fn users_are_created_and_read_back(db: Db) {
    let store = db.store().await;
    assert_eq!(store.count_users().await.expect("count"), 0);
    assert!(store.users().await.expect("users").is_empty());

    let zoe = store
        .create_user("zoe", "viewer", PHC, t(1))
        .await
        .expect("create zoe");
    let ada = store
        .create_user("ada", "admin", "$argon2id$other", t(2))
        .await
        .expect("create ada");
    assert!(zoe.id > 0 && ada.id > 0 && zoe.id != ada.id);
    assert_eq!(
        (
            zoe.name.as_str(),
            zoe.role.as_str(),
            zoe.password_hash.as_str(),
            zoe.created_at
        ),
        ("zoe", "viewer", PHC, t(1))
    );

    assert_eq!(
        store.user_by_name("zoe").await.expect("by name"),
        Some(zoe.clone())
    );
    assert_eq!(
        store.user_by_id(ada.id).await.expect("by id"),
        Some(ada.clone())
    );
    assert_eq!(store.user_by_name("nobody").await.expect("by name"), None);
    assert_eq!(store.user_by_name("Zoe").await.expect("by name"), None);
    assert_eq!(
        store.user_by_id(ada.id + zoe.id).await.expect("by id"),
        None
    );
    assert_eq!(
        store.users().await.expect("users"),
        vec![ada.clone(), zoe.clone()]
    );
    assert_eq!(store.count_users().await.expect("count"), 2);

    // The hash never shows in Debug output (logs).
    let shown = format!("{zoe:?}");
    assert!(!shown.contains(PHC), "{shown}");
    assert!(shown.contains("zoe"), "{shown}");
}

async fn a_taken_name_is_user_exists(db: Db) {
    let store = db.store().await;
    let first = store
        .create_user("ada", "viewer", PHC, t(1))
        .await
        .expect("create");
    let err = store
        .create_user("ada", "admin", "$argon2id$other", t(2))
        .await
        .expect_err("the name is taken");
    assert!(
        matches!(&err, Error::UserExists(name) if name == "ada"),
        "{err:?}"
    );
    assert!(err.to_string().contains("ada"), "{err}");
    assert!(!err.is_retryable());
    // The first user is untouched.
    assert_eq!(store.user_by_name("ada").await.expect("read"), Some(first));
    assert_eq!(store.count_users().await.expect("count"), 1);
}

async fn concurrent_creates_of_one_name_make_one_user(db: Db) {
    const TRIES: usize = 6;
    let stores = [db.store().await, db.store().await];
    let mut handles = Vec::new();
    for i in 0..TRIES {
        let store: Store = stores[i % 2].clone();
        handles.push(tokio::spawn(async move {
            store
                .create_user("root", "admin", &format!("hash-{i}"), t(0))
                .await
        }));
    }
    let mut created = 0;
    for handle in handles {
        match handle.await.expect("join") {
            Ok(_) => created += 1,
            Err(Error::UserExists(name)) => assert_eq!(name, "root"),
            Err(other) => panic!("expected UserExists, got {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(stores[0].count_users().await.expect("count"), 1);
}

async fn password_and_role_change(db: Db) {
    let store = db.store().await;
    let made = store
        .create_user("op1", "viewer", PHC, t(1))
        .await
        .expect("create");
    let other = store
        .create_user("op2", "viewer", PHC, t(1))
        .await
        .expect("create");
    store
        .set_user_password("op1", "$argon2id$new")
        .await
        .expect("set password");
    store.set_user_role("op1", "op").await.expect("set role");
    let read = store
        .user_by_name("op1")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read.password_hash, "$argon2id$new");
    assert_eq!(read.role, "op");
    assert_eq!((read.id, read.created_at), (made.id, made.created_at));
    // Only that user changed.
    assert_eq!(store.user_by_name("op2").await.expect("read"), Some(other));

    let err = store
        .set_user_password("ghost", PHC)
        .await
        .expect_err("unknown user");
    assert!(
        matches!(&err, Error::UnknownUser(n) if n == "ghost"),
        "{err:?}"
    );
    let err = store
        .set_user_role("ghost", "admin")
        .await
        .expect_err("unknown user");
    assert!(
        matches!(&err, Error::UnknownUser(n) if n == "ghost"),
        "{err:?}"
    );
    assert_eq!(store.count_users().await.expect("count"), 2);
}

async fn tokens_find_their_user(db: Db) {
    let store = db.store().await;
    let ada = store
        .create_user("ada", "admin", PHC, t(0))
        .await
        .expect("create");
    let bob = store
        .create_user("bob", "viewer", PHC, t(0))
        .await
        .expect("create");
    let first = store
        .create_api_token(ada.id, "hash-a1", t(1), t(1_000_000))
        .await
        .expect("token");
    let second = store
        .create_api_token(ada.id, "hash-a2", t(2), t(1_000_000))
        .await
        .expect("token");
    store
        .create_api_token(bob.id, "hash-b1", t(3), t(1_000_000))
        .await
        .expect("token");
    assert!(first > 0 && second != first);

    for hash in ["hash-a1", "hash-a2"] {
        assert_eq!(
            store.user_by_token(hash, t(10)).await.expect("lookup"),
            Some(ada.clone())
        );
    }
    assert_eq!(
        store.user_by_token("hash-b1", t(10)).await.expect("lookup"),
        Some(bob.clone())
    );
    assert_eq!(
        store.user_by_token("nope", t(10)).await.expect("lookup"),
        None
    );

    // A token hash is unique: the same hash for another user is refused.
    let err = store
        .create_api_token(bob.id, "hash-a1", t(4), t(1_000_000))
        .await
        .expect_err("duplicate hash");
    assert!(matches!(err, Error::Database(_)), "{err:?}");
    assert_eq!(
        store.user_by_token("hash-a1", t(11)).await.expect("lookup"),
        Some(ada)
    );

    // A changed role is what the next lookup sees.
    store.set_user_role("bob", "op").await.expect("role");
    let read = store
        .user_by_token("hash-b1", t(12))
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(read.role, "op");
}

async fn token_use_is_noted_coarsely(db: Db) {
    let store = db.store().await;
    let ada = store
        .create_user("ada", "admin", PHC, t(0))
        .await
        .expect("create");
    store
        .create_api_token(ada.id, "hash", t(1), t(1_000_000))
        .await
        .expect("token");
    assert_eq!(last_used(&db, "hash").await, None);

    let step = LAST_USED_GRANULARITY.num_seconds();
    store.user_by_token("hash", t(100)).await.expect("use");
    assert_eq!(last_used(&db, "hash").await, Some(micros(100)));
    // Within the granularity a lookup writes nothing.
    store
        .user_by_token("hash", t(100 + step - 1))
        .await
        .expect("use");
    assert_eq!(last_used(&db, "hash").await, Some(micros(100)));
    // After it, the new time is noted.
    store
        .user_by_token("hash", t(100 + step))
        .await
        .expect("use");
    assert_eq!(last_used(&db, "hash").await, Some(micros(100 + step)));
    // A clock behind never moves it back.
    store.user_by_token("hash", t(0)).await.expect("use");
    assert_eq!(last_used(&db, "hash").await, Some(micros(100 + step)));
    // An unknown token notes nothing anywhere.
    store.user_by_token("other", t(10_000)).await.expect("use");
    assert_eq!(last_used(&db, "hash").await, Some(micros(100 + step)));
}

async fn tokens_need_a_user(db: Db) {
    let store = db.store().await;
    let err = store
        .create_api_token(42, "hash", t(0), t(1_000_000))
        .await
        .expect_err("no such user");
    assert!(matches!(err, Error::UnknownUserId(42)), "{err:?}");
    assert_eq!(
        store.user_by_token("hash", t(1)).await.expect("lookup"),
        None
    );
}

async fn sessions_find_their_user_until_they_expire(db: Db) {
    let store = db.store().await;
    let ada = store
        .create_user("ada", "admin", PHC, t(0))
        .await
        .expect("create");
    store
        .create_session("sess-1", ada.id, "csrf-1", t(10), t(3_610))
        .await
        .expect("session");

    let (user, session) = store
        .session("sess-1", t(20))
        .await
        .expect("lookup")
        .expect("live session");
    assert_eq!(user, ada);
    assert_eq!(session.user_id, ada.id);
    assert_eq!(session.csrf, "csrf-1");
    assert_eq!((session.created_at, session.expires_at), (t(10), t(3_610)));
    assert!(!format!("{session:?}").contains("csrf-1"));

    assert!(store
        .session("sess-1", t(3_609))
        .await
        .expect("lookup")
        .is_some());
    // At its expiry time and after, it is gone.
    assert_eq!(
        store.session("sess-1", t(3_610)).await.expect("lookup"),
        None
    );
    assert_eq!(
        store.session("sess-1", t(9_999)).await.expect("lookup"),
        None
    );
    assert_eq!(store.session("sess-2", t(20)).await.expect("lookup"), None);
}

async fn sessions_are_deleted(db: Db) {
    let store = db.store().await;
    let ada = store
        .create_user("ada", "admin", PHC, t(0))
        .await
        .expect("create");
    for (hash, expires) in [("old-1", 100), ("old-2", 200), ("live", 1_000)] {
        store
            .create_session(hash, ada.id, "csrf", t(0), t(expires))
            .await
            .expect("session");
    }
    assert_eq!(
        store.delete_expired_sessions(t(50)).await.expect("sweep"),
        0
    );
    assert_eq!(
        store.delete_expired_sessions(t(200)).await.expect("sweep"),
        2
    );
    assert_eq!(
        store.delete_expired_sessions(t(200)).await.expect("sweep"),
        0
    );
    assert!(store
        .session("live", t(300))
        .await
        .expect("lookup")
        .is_some());

    store.delete_session("live").await.expect("sign out");
    assert_eq!(store.session("live", t(300)).await.expect("lookup"), None);
    // Signing out twice, or with an unknown session, is fine.
    store.delete_session("live").await.expect("sign out again");
    store
        .delete_session("never")
        .await
        .expect("unknown session");
    // The user stays.
    assert_eq!(store.count_users().await.expect("count"), 1);
}

async fn sessions_need_a_user(db: Db) {
    let store = db.store().await;
    let err = store
        .create_session("sess", 7, "csrf", t(0), t(100))
        .await
        .expect_err("no such user");
    assert!(matches!(err, Error::UnknownUserId(7)), "{err:?}");
    assert_eq!(store.session("sess", t(1)).await.expect("lookup"), None);
}

async fn deleting_a_user_ends_its_tokens_and_sessions(db: Db) {
    let store = db.store().await;
    let gone = store
        .create_user("gone", "op", "$argon2id$x", t(1))
        .await
        .expect("create");
    let kept = store
        .create_user("kept", "viewer", "$argon2id$y", t(1))
        .await
        .expect("create");
    store
        .create_api_token(gone.id, "tok-gone", t(2), t(1_000_000))
        .await
        .expect("token");
    store
        .create_api_token(kept.id, "tok-kept", t(2), t(1_000_000))
        .await
        .expect("token");
    store
        .create_session("sess-gone", gone.id, "csrf", t(2), t(1_000))
        .await
        .expect("session");
    store.delete_user("gone").await.expect("delete");
    assert!(store.user_by_name("gone").await.expect("read").is_none());
    assert!(store
        .user_by_token("tok-gone", t(3))
        .await
        .expect("token")
        .is_none());
    assert!(store
        .session("sess-gone", t(3))
        .await
        .expect("session")
        .is_none());
    assert_eq!(
        store
            .user_by_token("tok-kept", t(3))
            .await
            .expect("token")
            .map(|u| u.name),
        Some("kept".to_string())
    );
    assert!(matches!(
        store.delete_user("gone").await,
        Err(Error::UnknownUser(name)) if name == "gone"
    ));
}

async fn tokens_expire(db: Db) {
    let store = db.store().await;
    let ada = store
        .create_user("ada", "admin", PHC, t(0))
        .await
        .expect("create");
    store
        .create_api_token(ada.id, "short-lived", t(1), t(100))
        .await
        .expect("token");
    assert!(store
        .user_by_token("short-lived", t(99))
        .await
        .expect("lookup")
        .is_some());
    // At its expiry and after, it signs no one in, and its use is not noted.
    for at in [100, 101, 10_000] {
        assert!(store
            .user_by_token("short-lived", t(at))
            .await
            .expect("lookup")
            .is_none());
    }
    assert_eq!(last_used(&db, "short-lived").await, Some(micros(99)));
}

async fn tokens_are_listed_and_revoked(db: Db) {
    let store = db.store().await;
    let ada = store
        .create_user("ada", "admin", PHC, t(0))
        .await
        .expect("create");
    let bob = store
        .create_user("bob", "viewer", PHC, t(0))
        .await
        .expect("create");
    let a1 = store
        .create_api_token(ada.id, "a1", t(1), t(500))
        .await
        .expect("token");
    let a2 = store
        .create_api_token(ada.id, "a2", t(2), t(600))
        .await
        .expect("token");
    let b1 = store
        .create_api_token(bob.id, "b1", t(3), t(700))
        .await
        .expect("token");
    store.user_by_token("a2", t(10)).await.expect("use");

    let listed = store.api_tokens_of(ada.id).await.expect("list");
    assert_eq!(listed.iter().map(|k| k.id).collect::<Vec<_>>(), [a1, a2]);
    assert_eq!(
        (
            listed[0].user_id,
            listed[0].user.as_str(),
            listed[0].created_at,
            listed[0].expires_at,
            listed[0].last_used_at
        ),
        (ada.id, "ada", t(1), t(500), None)
    );
    assert_eq!(listed[1].last_used_at, Some(t(10)));
    assert_eq!(
        store.api_token(b1).await.expect("one").map(|k| k.user),
        Some("bob".to_string())
    );
    assert_eq!(store.api_token(b1 + a1 + a2).await.expect("none"), None);

    assert!(store.delete_api_token(a1).await.expect("revoke"));
    assert!(!store.delete_api_token(a1).await.expect("again"));
    assert!(store
        .user_by_token("a1", t(11))
        .await
        .expect("a1")
        .is_none());
    assert!(store
        .user_by_token("a2", t(11))
        .await
        .expect("a2")
        .is_some());
    assert!(store
        .user_by_token("b1", t(11))
        .await
        .expect("b1")
        .is_some());
    assert_eq!(store.api_tokens_of(ada.id).await.expect("list").len(), 1);
    assert!(store.api_tokens_of(4242).await.expect("nobody").is_empty());
}

async fn a_password_change_ends_the_users_sessions(db: Db) {
    let store = db.store().await;
    let ada = store
        .create_user("ada", "admin", PHC, t(0))
        .await
        .expect("create");
    let bob = store
        .create_user("bob", "viewer", PHC, t(0))
        .await
        .expect("create");
    for (hash, user) in [("ada-1", ada.id), ("ada-2", ada.id), ("bob-1", bob.id)] {
        store
            .create_session(hash, user, "csrf", t(1), t(1_000))
            .await
            .expect("session");
    }
    store
        .create_api_token(ada.id, "ada-token", t(1), t(1_000))
        .await
        .expect("token");
    let ended = store
        .set_user_password("ada", "$argon2id$changed")
        .await
        .expect("change");
    assert_eq!(ended, 2);
    for hash in ["ada-1", "ada-2"] {
        assert!(store.session(hash, t(2)).await.expect("read").is_none());
    }
    // Other users' sessions and the user's tokens stay.
    assert!(store.session("bob-1", t(2)).await.expect("read").is_some());
    assert!(store
        .user_by_token("ada-token", t(2))
        .await
        .expect("token")
        .is_some());
}
