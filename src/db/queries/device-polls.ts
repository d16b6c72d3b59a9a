// device_polls: when each device code was last polled and at which interval.
import type { Clock } from '../../clock.ts';
import type { PrismaClient } from '../client.ts';

/** `clock` stamps each poll; tests move it past an interval instead of waiting. */
export function devicePollQueries(prisma: PrismaClient, clock: Clock = Date.now) {
  return {
    /**
     * Records a poll and says whether it came too soon. One transaction with the row locked, so
     * that concurrent polls of one code see each other: a poll earlier than the interval allows
     * is too fast, and the interval grows by `penalty` seconds for it and every later poll.
     */
    async poll(
      id: string,
      baseInterval: number,
      penalty: number,
      expiresAt: Date,
    ): Promise<{ tooFast: boolean; interval: number }> {
      return prisma.$transaction(async (tx) => {
        const rows = await tx.$queryRaw<{ interval_seconds: number; last_polled_at: Date }[]>`
          SELECT interval_seconds, last_polled_at FROM device_polls WHERE device_code_id = ${id} FOR UPDATE`;
        const now = new Date(clock());
        const previous = rows[0];
        if (!previous) {
          await tx.devicePoll.create({
            data: { deviceCodeId: id, intervalSeconds: baseInterval, lastPolledAt: now, expiresAt },
          });
          return { tooFast: false, interval: baseInterval };
        }
        const tooFast = now.getTime() - previous.last_polled_at.getTime() < previous.interval_seconds * 1000;
        const interval = previous.interval_seconds + (tooFast ? penalty : 0);
        await tx.devicePoll.update({
          where: { deviceCodeId: id },
          data: { intervalSeconds: interval, lastPolledAt: now },
        });
        return { tooFast, interval };
      });
    },
  };
}

export type DevicePollQueries = ReturnType<typeof devicePollQueries>;
