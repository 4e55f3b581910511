package org.saslgate.internal;

import java.lang.ref.Cleaner;
import java.util.function.LongConsumer;

/**
 * Owns one native handle (a JNI-contract {@code long} id) and releases it exactly once:
 * {@link #close()} is synchronized, and a {@link Cleaner} releases it if the owner is
 * collected without closing (a backstop, not the normal path; {@code finalize()} is not used).
 * After close, {@link #get()} throws {@link IllegalStateException}.
 */
final class NativeHandle implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    /** The releasing action; must not reference the NativeHandle. */
    private static final class Release implements Runnable {
        private final long id;
        private final LongConsumer release;

        Release(long id, LongConsumer release) {
            this.id = id;
            this.release = release;
        }

        @Override
        public void run() {
            release.accept(id);
        }
    }

    private final String kind;
    private final Cleaner.Cleanable cleanable;
    private long id;

    /**
     * @param kind names the handle in messages ("core", "server session"), never null
     * @param id the handle id, non-zero
     * @param release releases an id (e.g. {@code Native::serverDispose}); must be idempotent
     * @throws IllegalArgumentException if id is 0
     */
    NativeHandle(String kind, long id, LongConsumer release) {
        if (id == 0) {
            throw new IllegalArgumentException("saslgate: 0 is not a valid " + kind + " handle");
        }
        this.kind = kind;
        this.id = id;
        this.cleanable = CLEANER.register(this, new Release(id, release));
    }

    /**
     * @return the handle id
     * @throws IllegalStateException after {@link #close()}
     */
    synchronized long get() {
        if (id == 0) {
            throw new IllegalStateException("saslgate: " + kind + " handle already released");
        }
        return id;
    }

    /** Releases the handle (idempotent). */
    @Override
    public synchronized void close() {
        if (id != 0) {
            id = 0;
            cleanable.clean();
        }
    }
}
