export { createAgentService, type AgentService, type AgentServiceOptions, type SendRequest, type SendResult } from './service';
export { registerAgentApi } from './api';
export { defaultAgents, loadAgents, type AgentDefinition, type AgentSet } from './definitions';
