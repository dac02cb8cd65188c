import { formatTime } from '../lib/format';
import { useApp } from '../store/context';

export function ConversationList() {
  const conversations = useApp((state) => state.conversations);
  const activeId = useApp((state) => state.activeConversation?.id);
  const openConversation = useApp((state) => state.openConversation);
  const newConversation = useApp((state) => state.newConversation);
  const sending = useApp((state) => state.sending);

  return (
    <nav className="conversations" aria-label="Conversations" data-testid="conversation-list">
      <button type="button" data-testid="chat-new" onClick={newConversation} disabled={sending}>
        New conversation
      </button>
      {conversations.length === 0 ? (
        <p className="muted">No conversations yet.</p>
      ) : (
        <ul>
          {conversations.map((conversation) => (
            <li key={conversation.id}>
              <button
                type="button"
                className="conversation-item"
                data-testid="conversation-item"
                data-conversation-id={conversation.id}
                aria-current={conversation.id === activeId ? 'true' : undefined}
                disabled={sending}
                onClick={() => void openConversation(conversation.id)}
              >
                <span className="title">{conversation.title || 'Untitled'}</span>
                <span className="muted">{formatTime(conversation.updatedAt)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </nav>
  );
}
