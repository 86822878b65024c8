package io.pairkit.testkit;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Forwards every call to another volume; test wrappers override what they observe or break.
 * Thread-safe as far as the delegate is.
 */
public class ForwardingVolume implements Volume {
  private final Volume delegate;

  public ForwardingVolume(Volume delegate) {
    this.delegate = delegate;
  }

  public Volume delegate() {
    return delegate;
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public long size() {
    return delegate.size();
  }

  @Override
  public java.util.Optional<String> volumeId() {
    return delegate().volumeId();
  }

  @Override
  public VolumeCapabilities capabilities() {
    return delegate.capabilities();
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    delegate.read(offset, dst);
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    delegate.write(offset, src);
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    delegate.discard(offset, length);
  }

  @Override
  public ExtentSet allocated(long offset, long length) throws IOException {
    return delegate.allocated(offset, length);
  }

  @Override
  public void flush() throws IOException {
    delegate.flush();
  }

  @Override
  public void close() throws IOException {
    delegate.close();
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + delegate + "]";
  }
}
