package org.saslgate.internal;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a member that the Rust side ({@code jni-bridge/}) calls or reads through JNI: renaming
 * or removing it breaks the bridge at run time (STYLE §5, after libsignal's
 * {@code @CalledFromNative}).
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.CONSTRUCTOR, ElementType.FIELD})
public @interface CalledFromNative {}
