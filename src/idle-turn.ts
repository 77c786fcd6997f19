/** One turn of the event loop: what long work awaits between slices, so timers and I/O run in between. */
export function idleTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
