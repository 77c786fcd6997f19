/** RedisStore under simulation: see redisMain. */
export async function redisMain(_options: { seed?: string | undefined; from?: string | undefined; count?: string | undefined; minutes?: string | undefined }): Promise<void> {
  throw new Error('RedisStore simulation: not built yet');
}
