/** Checks of the release conventions: the BOM, the license. */
package io.pairkit.api.release;
