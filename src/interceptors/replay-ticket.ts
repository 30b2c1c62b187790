import type { InternalAxiosRequestConfig } from 'axios';

/**
 * A replay's proof of origin: an object only this module makes, good for one send. axios's config
 * merge passes it through by reference (it is not a plain object), so the replay's final config
 * carries it; any later copy carries one already used, and is a new request, not a replay.
 */
class ReplayTicket {}
const liveTickets = new WeakSet<ReplayTicket>();

/** A ticket for the replay about to be made. */
export function issueReplayTicket(): object {
  const ticket = new ReplayTicket();
  liveTickets.add(ticket);
  return ticket;
}

/** Whether this send is the replay its ticket was issued for; the ticket is used up either way. */
export function takeReplayTicket(config: InternalAxiosRequestConfig): boolean {
  const ticket = config.clientCredentials?.replayTicket;
  return ticket instanceof ReplayTicket && liveTickets.delete(ticket);
}
