/** Tests of controller-core's structure: package dependencies and what is public. */
package io.pairkit.core.architecture;
