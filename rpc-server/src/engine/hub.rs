//! This node's subscribers: who is subscribed to what, and who is
//! connected as which user. Each publication the broker delivers is
//! serialised once here (once per encoding) and the same bytes are queued for every subscriber.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use wirecall_core::protocol::{ClientInfo, Publication};

use super::client::{ClientHandle, Health};
use crate::wire::{PushBody, SharedPush};

/// Connections by client id. The set's items are the handles themselves,
/// found by their id: no key string per connection and per channel.
type Clients = HashSet<ById>;

/// A connection as an item of [`Clients`]: equal, hashed and borrowed as
/// its client id.
#[derive(Debug, Clone)]
struct ById(Arc<ClientHandle>);

impl PartialEq for ById {
    fn eq(&self, other: &Self) -> bool {
        self.0.client_id() == other.0.client_id()
    }
}

impl Eq for ById {}

impl std::hash::Hash for ById {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.client_id().hash(state);
    }
}

impl std::borrow::Borrow<str> for ById {
    fn borrow(&self) -> &str {
        self.0.client_id()
    }
}

/// Local subscribers and connections.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    channels: RwLock<HashMap<Arc<str>, Clients>>,
    users: RwLock<HashMap<Arc<str>, Clients>>,
    connections: AtomicUsize,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl Hub {
    /// Adds a subscriber.
    pub(crate) fn subscribe(&self, channel: &str, client: &Arc<ClientHandle>) {
        write(&self.channels)
            .entry(Arc::from(channel))
            .or_default()
            .replace(ById(client.clone()));
    }

    /// Removes a subscriber; true if the node has none left for `channel`.
    pub(crate) fn unsubscribe(&self, channel: &str, client_id: &str) -> bool {
        let mut channels = write(&self.channels);
        let Some(subscribers) = channels.get_mut(channel) else {
            return false;
        };
        subscribers.remove(client_id);
        if subscribers.is_empty() {
            channels.remove(channel);
            return true;
        }
        false
    }

    /// Registers a connection if the limits allow it (total, and per user
    /// for a named user). The check and the registration are one step under
    /// the lock, so concurrent connects cannot pass a limit together.
    pub(crate) fn try_connect(
        &self,
        client: &Arc<ClientHandle>,
        max_total: Option<usize>,
        max_per_user: Option<usize>,
    ) -> bool {
        let mut users = write(&self.users);
        if max_total.is_some_and(|max| self.connections.load(Ordering::Acquire) >= max) {
            return false;
        }
        let user = client.user();
        let theirs = users.get(user).map_or(0, HashSet::len);
        if !user.is_empty() && max_per_user.is_some_and(|max| theirs >= max) {
            return false;
        }
        self.connections.fetch_add(1, Ordering::AcqRel);
        users
            .entry(Arc::from(user))
            .or_default()
            .replace(ById(client.clone()));
        true
    }

    /// Forgets a connection.
    pub(crate) fn disconnect(&self, client: &ClientHandle) {
        let mut users = write(&self.users);
        if let Some(connections) = users.get_mut(client.user())
            && connections.remove(client.client_id())
        {
            self.connections.fetch_sub(1, Ordering::AcqRel);
            if connections.is_empty() {
                users.remove(client.user());
            }
        }
    }

    /// Connections of all users on this node.
    pub(crate) fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// Live connections of `user` on this node.
    pub(crate) fn user_connection_count(&self, user: &str) -> usize {
        read(&self.users).get(user).map_or(0, HashSet::len)
    }

    /// Distinct users connected to this node.
    pub(crate) fn user_count(&self) -> usize {
        read(&self.users).len()
    }

    /// Every live connection of `user`.
    pub(crate) fn user_clients(&self, user: &str) -> Vec<Arc<ClientHandle>> {
        read(&self.users)
            .get(user)
            .map(|c| c.iter().map(|c| c.0.clone()).collect())
            .unwrap_or_default()
    }

    /// Channels with subscribers on this node, with their subscriber counts.
    pub(crate) fn channel_counts(&self) -> Vec<(String, usize)> {
        read(&self.channels)
            .iter()
            .map(|(channel, subscribers)| (channel.to_string(), subscribers.len()))
            .collect()
    }

    /// The subscribers of `channel` on this node.
    pub(crate) fn subscribers(&self, channel: &str) -> Vec<Arc<ClientHandle>> {
        read(&self.channels)
            .get(channel)
            .map(|c| c.iter().map(|c| c.0.clone()).collect())
            .unwrap_or_default()
    }

    /// Channels with subscribers on this node.
    pub(crate) fn channels(&self) -> Vec<Arc<str>> {
        read(&self.channels).keys().cloned().collect()
    }

    /// Channels with subscribers, and subscriptions, on this node.
    pub(crate) fn subscription_counts(&self) -> (usize, usize) {
        let channels = read(&self.channels);
        (channels.len(), channels.values().map(HashSet::len).sum())
    }

    /// Every live connection.
    pub(crate) fn all_clients(&self) -> Vec<Arc<ClientHandle>> {
        read(&self.users)
            .values()
            .flat_map(|c| c.iter().map(|c| c.0.clone()))
            .collect()
    }

    fn fan_out(&self, channel: &str, mut deliver: impl FnMut(&ClientHandle)) {
        if let Some(subscribers) = read(&self.channels).get(channel) {
            for ById(client) in subscribers {
                deliver(client);
            }
        }
    }

    /// Delivers a publication to this node's subscribers of `channel`;
    /// returns those whose subscription turned out to have missed some.
    pub(crate) fn publication(
        &self,
        channel: &str,
        publication: &Publication,
        epoch: &str,
    ) -> Vec<Arc<ClientHandle>> {
        let mut missed = Vec::new();
        let push = SharedPush::new(channel, PushBody::Publication(publication));
        let offset = publication.offset;
        if let Some(subscribers) = read(&self.channels).get(channel) {
            for ById(client) in subscribers {
                let Some(frame) = push.frame(client.out.encoding()) else {
                    return missed;
                };
                if client.deliver(channel, offset, epoch, &frame) == Health::Insufficient {
                    missed.push(client.clone());
                }
            }
        }
        missed
    }

    /// Delivers a join push to the subscribers that asked for them.
    pub(crate) fn join(&self, channel: &str, info: &ClientInfo) {
        let push = SharedPush::new(channel, PushBody::Join(info));
        self.fan_out(channel, |client| client.deliver_join_leave(channel, &push));
    }

    /// Delivers a leave push to the subscribers that asked for them.
    pub(crate) fn leave(&self, channel: &str, info: &ClientInfo) {
        let push = SharedPush::new(channel, PushBody::Leave(info));
        self.fan_out(channel, |client| client.deliver_join_leave(channel, &push));
    }
}
