/** Engine settings ({@link io.pairkit.core.config.ControllerConfig}), validated on creation. */
package io.pairkit.core.config;
