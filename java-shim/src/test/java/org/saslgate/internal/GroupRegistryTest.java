package org.saslgate.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** {@link GroupRegistry}: bounds (size, least recently used first), expiry, replacement. */
class GroupRegistryTest {
    private final AtomicLong now = new AtomicLong(1_000_000);

    @Test
    void servesGroupsUntilTheTokenExpires() {
        GroupRegistry r = new GroupRegistry(10, now::get);
        r.record("alice", new String[] {"hadoop-users", "etl"}, 1_000_060);
        assertEquals(List.of("hadoop-users", "etl"), r.groups("alice"));
        now.set(1_000_059);
        assertEquals(List.of("hadoop-users", "etl"), r.groups("alice"));
        now.set(1_000_060); // exp is exclusive (RFC 7519 §4.1.4: on or after exp the token is expired)
        assertNull(r.groups("alice"));
        assertEquals(0, r.size(), "an expired entry is removed when met");
    }

    @Test
    void unknownIdentityHasNoEntry() {
        GroupRegistry r = new GroupRegistry(10, now::get);
        assertNull(r.groups("nobody"));
    }

    @Test
    void noGroupsIsAnEmptyListNotNull() {
        GroupRegistry r = new GroupRegistry(10, now::get);
        r.record("svc", null, 1_000_010);
        assertEquals(List.of(), r.groups("svc"));
    }

    @Test
    void expiredOrUnknownExpiryIsNotRecordedAndDropsTheOldEntry() {
        GroupRegistry r = new GroupRegistry(10, now::get);
        r.record("bob", new String[] {"old"}, 1_000_100);
        r.record("bob", new String[] {"new"}, 999_999);
        assertNull(r.groups("bob"), "an already expired token must not leave the older groups in place");
        r.record("carol", new String[] {"x"}, -1);
        assertNull(r.groups("carol"));
        assertEquals(0, r.size());
    }

    @Test
    void newestTokenReplacesTheGroups() {
        GroupRegistry r = new GroupRegistry(10, now::get);
        r.record("alice", new String[] {"hadoop-admins"}, 1_000_100);
        r.record("alice", new String[] {"hadoop-users"}, 1_000_050);
        assertEquals(List.of("hadoop-users"), r.groups("alice"));
        now.set(1_000_050);
        assertNull(r.groups("alice"), "the replacing token's expiry applies");
    }

    @Test
    void boundedLeastRecentlyUsedFirst() {
        GroupRegistry r = new GroupRegistry(3, now::get);
        r.record("a", new String[] {"ga"}, 1_000_100);
        r.record("b", new String[] {"gb"}, 1_000_100);
        r.record("c", new String[] {"gc"}, 1_000_100);
        assertEquals(List.of("ga"), r.groups("a")); // a is now the most recently used
        r.record("d", new String[] {"gd"}, 1_000_100);
        assertEquals(3, r.size());
        assertNull(r.groups("b"), "b was the least recently used");
        assertEquals(List.of("ga"), r.groups("a"));
        assertEquals(List.of("gc"), r.groups("c"));
        assertEquals(List.of("gd"), r.groups("d"));
    }

    @Test
    void identitiesSkipsAndRemovesExpired() {
        GroupRegistry r = new GroupRegistry(10, now::get);
        r.record("short", new String[] {"g"}, 1_000_005);
        r.record("long", new String[] {"g"}, 1_000_500);
        now.set(1_000_010);
        assertEquals(List.of("long"), r.identities());
        assertEquals(1, r.size());
    }

    @Test
    void recordedGroupsAreACopy() {
        GroupRegistry r = new GroupRegistry(10, now::get);
        String[] groups = {"g1"};
        r.record("alice", groups, 1_000_100);
        groups[0] = "changed";
        assertEquals(List.of("g1"), r.groups("alice"));
        assertThrows(UnsupportedOperationException.class, () -> r.groups("alice").add("x"));
    }

    @Test
    void sizeMustBePositive() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new GroupRegistry(0, now::get));
        assertTrue(e.getMessage().contains("at least 1 entry, got 0"), e.getMessage());
    }
}
