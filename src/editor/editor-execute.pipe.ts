import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';
import { createValidationPipe } from '../common/validation.pipe';
import { EditorExecuteDto } from './dto/editor-execute.dto';
import { EditorException } from './editor.exception';

/**
 * Validates the editor's execute body with the same strict rules as v1, but answers in the editor's
 * codes: MISSING_FIELD for an absent or empty `code`, INVALID_REQUEST for everything else.
 */
@Injectable()
export class EditorExecuteBodyPipe implements PipeTransform<unknown, Promise<EditorExecuteDto>> {
  private readonly validation = createValidationPipe();

  async transform(body: unknown): Promise<EditorExecuteDto> {
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      throw new EditorException(400, 'INVALID_REQUEST', 'The body must be a JSON object');
    }
    const code = (body as { code?: unknown } | undefined)?.code;
    if (code === undefined || code === null || (typeof code === 'string' && code.trim() === '')) {
      throw new EditorException(400, 'MISSING_FIELD', "Field 'code' is required and must not be empty");
    }
    try {
      return (await this.validation.transform(body, { type: 'body', metatype: EditorExecuteDto })) as EditorExecuteDto;
    } catch (error) {
      if (!(error instanceof BadRequestException)) throw error;
      const { details } = error.getResponse() as { details?: string[] };
      throw new EditorException(400, 'INVALID_REQUEST', details?.join('; ') || 'Invalid request body');
    }
  }
}
