package com.example.store;

import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.AbstractVolumeContractTest;

/** PairKit's volume contract, run against this product's backend. */
class ArrayVolumeContractTest extends AbstractVolumeContractTest {
  @Override
  protected Volume createVolume(String name, long size) {
    return new ArrayVolume(name, size);
  }
}
